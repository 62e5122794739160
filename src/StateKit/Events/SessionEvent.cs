using System;

namespace StateKit.Events;

/// <summary>
/// Something that happened to a session: what, to which session (by its public id, never its bearer id), in which store,
/// for which user, why and when. Handed to every <see cref="ISessionEventHandler"/>.
/// </summary>
public readonly struct SessionEvent
{
    internal SessionEvent(SessionEventKinds kind, SessionEventReason reason, string publicId, string? previousPublicId, string storeName, string? userId, DateTimeOffset time)
    {
        Kind = kind;
        Reason = reason;
        PublicId = publicId;
        PreviousPublicId = previousPublicId;
        StoreName = storeName;
        UserId = userId;
        Time = time;
    }

    /// <summary>Gets what happened: exactly one flag.</summary>
    public SessionEventKinds Kind { get; }

    /// <summary>Gets why it happened.</summary>
    public SessionEventReason Reason { get; }

    /// <summary>
    /// Gets the session's public id (<see cref="SessionIds.ToPublicId"/>): a name for logs and audit trails that is not a
    /// credential. After <see cref="SessionEventKinds.Rotated"/>, the new id's.
    /// </summary>
    public string PublicId { get; }

    /// <summary>Gets the public id the session had before a <see cref="SessionEventKinds.Rotated"/> event, or <see langword="null"/> for other kinds or when the store did not know it (a blind write).</summary>
    public string? PreviousPublicId { get; }

    /// <summary>Gets the name of the store that raised the event: the one metrics and traces tag it with.</summary>
    public string StoreName { get; }

    /// <summary>Gets the user the session is bound to, or <see langword="null"/> when it is anonymous or the store could not tell (a key the backend expired).</summary>
    public string? UserId { get; }

    /// <summary>Gets when the store saw it happen, on the application's <see cref="TimeProvider"/>.</summary>
    public DateTimeOffset Time { get; }

    /// <inheritdoc />
    public override string ToString() => PreviousPublicId is null
        ? $"{Kind} ({Reason}) {PublicId} in {StoreName} at {Time:O}"
        : $"{Kind} ({Reason}) {PreviousPublicId} -> {PublicId} in {StoreName} at {Time:O}";
}
