namespace StateKit.Resilience;

/// <summary>What a store does while its circuit is open: the tier's promise during an outage.</summary>
public enum OutagePolicy
{
    /// <summary>
    /// Critical state: fail fast with <see cref="SessionStoreRejectedException"/> (a <see cref="SessionStoreUnavailableException"/>),
    /// so the application can say "try again" and nothing is reported as saved that was not.
    /// </summary>
    FailFast = 0,

    /// <summary>
    /// Standard state: serve from the fallback store and journal every write; when the circuit closes the journal is replayed
    /// to the primary with version checks and conflicts go to the merge policy.
    /// </summary>
    FallbackWithJournal = 1,

    /// <summary>Ephemeral state: serve from the fallback store (or an empty session), journal nothing; outage writes are dropped when the circuit closes.</summary>
    Fallback = 2,
}
