namespace StateKit;

/// <summary>What a store guarantees when two requests of one session commit concurrently.</summary>
public enum ConcurrencyGuarantee
{
    /// <summary>
    /// The last commit replaces the whole session: an update made by a concurrent request can be lost.
    /// <see cref="SessionStoreExtensions.UpdateAsync(ISessionStore, string?, System.Action{StateSession}, int, System.Threading.CancellationToken)"/>
    /// still runs, but cannot promise that no update is lost.
    /// </summary>
    LastWriterWins = 0,

    /// <summary>
    /// Each session carries a version checked atomically on commit: a commit based on a stale version is merged per key
    /// (<see cref="SessionCommitMode.MergeKeys"/>) or reported as a conflict (<see cref="SessionCommitMode.RequireBaseVersion"/>),
    /// so concurrent <c>UpdateAsync</c> calls lose nothing.
    /// </summary>
    CompareAndSet = 1,
}
