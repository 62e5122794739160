namespace StateKit.Resilience;

/// <summary>What the outage journal does when it holds <see cref="ResilienceOptions.JournalCapacity"/> sessions and another one writes.</summary>
public enum JournalOverflowPolicy
{
    /// <summary>Refuse the new session's write with <see cref="SessionStoreRejectedException"/> (<see cref="SessionStoreRejectionReason.JournalFull"/>): nothing is lost silently.</summary>
    RejectNew = 0,

    /// <summary>Drop the oldest session's journaled writes (counted in <c>statekit.resilience.journal.dropped</c>, logged, and reported in <see cref="ReconciliationReport.Dropped"/>).</summary>
    DropOldest = 1,
}
