using System;

namespace StateKit.Events;

/// <summary>
/// The kinds of session lifecycle event. A <see cref="SessionEvent"/> has exactly one; <see cref="SessionStoreCapabilities.Events"/>
/// combines the kinds a store can raise.
/// </summary>
[Flags]
public enum SessionEventKinds
{
    /// <summary>No event.</summary>
    None = 0,

    /// <summary>A new session was committed.</summary>
    Created = 1,

    /// <summary>A session moved to a new id (after sign-in); <see cref="SessionEvent.PreviousPublicId"/> names the old one.</summary>
    Rotated = 2,

    /// <summary>A session was deleted on purpose: by id, by user ("sign out everywhere"), by sign-out, or by removing its last key.</summary>
    Revoked = 4,

    /// <summary>A session reached its idle or absolute deadline and the store dropped it.</summary>
    Expired = 8,

    /// <summary>A live session was dropped to keep a store within its memory bounds.</summary>
    Evicted = 16,

    /// <summary>A sticky session left this node's memory for the backup store (a drain, or a request the proxy sent elsewhere).</summary>
    Migrated = 32,

    /// <summary>A sticky session was taken over from the backup store into this node's memory.</summary>
    Rehydrated = 64,

    /// <summary>A session's writes journaled during an outage were replayed to the primary store without a conflict.</summary>
    Reconciled = 128,

    /// <summary>A journaled session met a newer version in the primary store during replay: merged, or kept in the journal.</summary>
    Conflict = 256,
}
