namespace StateKit.Events;

/// <summary>Why a <see cref="SessionEvent"/> happened: a finer cut of its <see cref="SessionEvent.Kind"/>.</summary>
public enum SessionEventReason
{
    /// <summary>A commit without a ticket started the session (<see cref="SessionEventKinds.Created"/>).</summary>
    NewSession = 0,

    /// <summary>A commit asked for a new id (<see cref="StateSession.RotateId"/>, typically at sign-in) (<see cref="SessionEventKinds.Rotated"/>).</summary>
    IdRotation = 1,

    /// <summary>Revoked by its id (<see cref="ISessionStore.RevokeAsync"/>).</summary>
    RevokedById = 2,

    /// <summary>Revoked with every session of its user (<see cref="ISessionStore.RevokeUserAsync"/>).</summary>
    RevokedByUser = 3,

    /// <summary>The request that carried its ticket revoked it (<see cref="StateSession.Revoke"/>, sign-out).</summary>
    SignOut = 4,

    /// <summary>A commit removed its last key, which deletes a session.</summary>
    Emptied = 5,

    /// <summary>It was not accessed for its idle timeout.</summary>
    IdleTimeout = 6,

    /// <summary>It reached its absolute lifetime.</summary>
    AbsoluteLifetime = 7,

    /// <summary>The backend's own time-to-live removed it (Redis keyspace notification): idle and absolute are not told apart.</summary>
    BackendTtl = 8,

    /// <summary>Evicted because the store held its maximum number of sessions.</summary>
    MaxSessions = 9,

    /// <summary>Evicted because the store held its maximum number of bytes.</summary>
    MaxBytes = 10,

    /// <summary>Moved to the backup store when the node drained or a request for it reached another node.</summary>
    MovedToBackup = 11,

    /// <summary>Taken over from the backup store: its owner node was gone, bypassed, or had evicted it.</summary>
    TakenFromBackup = 12,

    /// <summary>Replayed to the primary store as journaled.</summary>
    Replayed = 13,

    /// <summary>Replayed after the merge policy resolved a conflict with the primary's newer version.</summary>
    Merged = 14,

    /// <summary>Still conflicting after every replay attempt: kept in the journal for the next pass.</summary>
    Unresolved = 15,

    /// <summary>Signed out because its user signed in once more than <c>MaxSessionsPerUser</c> allows, and it was the least recently active.</summary>
    SessionLimit = 16,
}
