namespace StateKit.Sticky;

/// <summary>What a sticky store does with a change to replicate when its write-behind queue is full.</summary>
public enum StickyBackupQueueFullMode
{
    /// <summary>
    /// The request never waits: the replication is skipped and counted (<c>statekit.sticky.backup.dropped</c>,
    /// reason <c>queue_full</c>). The session's next change queues it again and the drain flushes it, so it is lost only
    /// if the node dies before either.
    /// </summary>
    Drop = 0,

    /// <summary>
    /// The commit waits for room up to <see cref="StickySessionStoreOptions.BackupQueueFullTimeout"/>, then drops as
    /// <see cref="Drop"/> does: back-pressure on the requests of a node whose backup cannot keep up.
    /// </summary>
    Wait = 1,
}
