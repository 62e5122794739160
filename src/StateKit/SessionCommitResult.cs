using System;
using System.Collections.Generic;

namespace StateKit;

/// <summary>The outcome of <see cref="ISessionStore.CommitAsync"/>.</summary>
public readonly record struct SessionCommitResult
{
    /// <summary>Gets what the commit did.</summary>
    public SessionCommitOutcome Outcome { get; init; }

    /// <summary>
    /// Gets the ticket the client must carry from now on, or <see langword="null"/> when it keeps the one it presented
    /// (and, after <see cref="SessionCommitOutcome.Deleted"/>, must drop).
    /// </summary>
    public string? Ticket { get; init; }

    /// <summary>Gets the session's id after the commit, or <see langword="null"/> when there is no session.</summary>
    public string? SessionId { get; init; }

    /// <summary>Gets the stored version after the commit; 0 when there is no session.</summary>
    public long Version { get; init; }

    /// <summary>Gets when the session ends if it is not accessed again, or <see langword="null"/> when there is no session.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>
    /// Gets the session's absolute deadline, or <see langword="null"/> when there is no session or the store does not say.
    /// Transports bound a ticket's lifetime by it (a cookie's expiry): unlike <see cref="ExpiresAt"/>, loads never move it.
    /// </summary>
    public DateTimeOffset? AbsoluteExpiresAt { get; init; }

    /// <summary>Gets the id whose public id names the committed session, when not <see cref="SessionId"/> (see <see cref="SessionSnapshot.ListedId"/>).</summary>
    internal string? ListedId { get; init; }

    /// <summary>
    /// Gets the ids (<see cref="SessionSnapshot.Id"/>) of the other sessions of the user this commit signed out to keep
    /// <c>MaxSessionsPerUser</c> under <see cref="UserSessionLimitPolicy.SignOutLeastRecentlyActive"/>; empty when none.
    /// Decorators that keep copies of sessions (the near cache) drop these too. For store authors: a store that enforces
    /// the limit reports them here.
    /// </summary>
    public IReadOnlyList<string> SignedOutSessionIds
    {
        get => _signedOutSessionIds ?? [];
        init => _signedOutSessionIds = value;
    }

    private readonly IReadOnlyList<string>? _signedOutSessionIds;

    /// <summary>The result of a commit that wrote <paramref name="session"/>: its id, version and both deadlines.</summary>
    /// <param name="session">The session as written.</param>
    /// <param name="ticket">The ticket the client must carry from now on, or <see langword="null"/> when it keeps its own.</param>
    /// <returns>The result.</returns>
    public static SessionCommitResult Committed(SessionSnapshot session, string? ticket)
    {
        ArgumentNullException.ThrowIfNull(session);
        return new()
        {
            Outcome = SessionCommitOutcome.Committed,
            Ticket = ticket,
            SessionId = session.Id,
            Version = session.Version,
            ExpiresAt = session.ExpiresAt,
            AbsoluteExpiresAt = session.AbsoluteExpiresAt,
        };
    }

    /// <summary>Gets the result of a commit that had nothing to do.</summary>
    public static SessionCommitResult NoChange => new() { Outcome = SessionCommitOutcome.NoChange };

    /// <summary>Gets the result of a commit whose session no longer exists.</summary>
    public static SessionCommitResult NotFound => new() { Outcome = SessionCommitOutcome.NotFound };

    /// <summary>Gets the result of a commit rejected because its base version is stale.</summary>
    public static SessionCommitResult Conflict => new() { Outcome = SessionCommitOutcome.Conflict };

    /// <summary>Gets the result of a commit refused because its user has the most sessions allowed.</summary>
    public static SessionCommitResult SessionLimitReached => new() { Outcome = SessionCommitOutcome.SessionLimitReached };

    /// <summary>Gets the result of a commit that deleted its session.</summary>
    public static SessionCommitResult Deleted => new() { Outcome = SessionCommitOutcome.Deleted };
}
