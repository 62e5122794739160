using System.Globalization;

namespace StateKit;

/// <summary>
/// A read-modify-write kept losing to concurrent commits of the same session and gave up after its bounded retries.
/// Nothing of the last attempt was written.
/// </summary>
public sealed class SessionConflictException : StateKitException
{
    /// <summary>Initializes a new instance of the <see cref="SessionConflictException"/> class.</summary>
    /// <param name="sessionId">The session that was contended.</param>
    /// <param name="attempts">How many times the mutation ran.</param>
    public SessionConflictException(string? sessionId, int attempts)
        : base(string.Format(
            CultureInfo.InvariantCulture,
            "Session '{0}' changed under {1} consecutive attempts to update it; gave up. Raise maxAttempts, or reduce how many requests of one session write at once.",
            sessionId,
            attempts))
    {
        SessionId = sessionId;
        Attempts = attempts;
    }

    /// <summary>Gets the session that was contended.</summary>
    public string? SessionId { get; }

    /// <summary>Gets how many times the mutation ran before giving up.</summary>
    public int Attempts { get; }
}
