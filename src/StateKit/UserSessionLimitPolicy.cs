namespace StateKit;

/// <summary>What a store does when a sign-in would give a user more sessions than <c>MaxSessionsPerUser</c> allows.</summary>
public enum UserSessionLimitPolicy
{
    /// <summary>
    /// The new session is bound, and the user's least recently active sessions are signed out to make room (raising
    /// <see cref="Events.SessionEventKinds.Revoked"/> with <see cref="Events.SessionEventReason.SessionLimit"/>).
    /// </summary>
    SignOutLeastRecentlyActive = 0,

    /// <summary>The new binding is refused with <see cref="SessionCommitOutcome.SessionLimitReached"/>; nothing is written.</summary>
    RefuseNewSession = 1,
}
