namespace StateKit;

/// <summary>What a commit did.</summary>
public enum SessionCommitOutcome
{
    /// <summary>Nothing changed; nothing was written and the client keeps its ticket.</summary>
    NoChange = 0,

    /// <summary>The changes were written.</summary>
    Committed = 1,

    /// <summary>The session was deleted (revoked, or its last key removed); the client should drop its ticket.</summary>
    Deleted = 2,

    /// <summary>The stored version moved past the commit's base under <see cref="SessionCommitMode.RequireBaseVersion"/>; nothing was written.</summary>
    Conflict = 3,

    /// <summary>The session the ticket named no longer exists (expired or revoked); nothing was written, and it was not resurrected.</summary>
    NotFound = 4,

    /// <summary>
    /// The commit would have bound a new session to a user who already has the most sessions the store allows
    /// (<c>MaxSessionsPerUser</c> with the refuse policy, <see cref="UserSessionLimitPolicy.RefuseNewSession"/>); nothing was
    /// written. The application tells the user to sign out elsewhere first (its account page lists where).
    /// </summary>
    SessionLimitReached = 5,
}
