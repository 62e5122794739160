namespace StateKit.Resilience;

/// <summary>Why the resilience layer refused a store call without a result from the store.</summary>
public enum SessionStoreRejectionReason
{
    /// <summary>The store's circuit is open (or half-open with every probe slot taken).</summary>
    CircuitOpen = 0,

    /// <summary>The store's circuit was isolated by hand.</summary>
    CircuitIsolated = 1,

    /// <summary>Too many calls to the store were in flight: this one was shed instead of queued behind a slow store.</summary>
    ConcurrencyLimit = 2,

    /// <summary>The store did not answer within the configured timeout; the call was abandoned and its outcome is unknown.</summary>
    Timeout = 3,

    /// <summary>The outage journal is full and its overflow policy refuses new sessions; nothing was written.</summary>
    JournalFull = 4,

    /// <summary>The operation cannot be honoured by the fallback store (an id rotation needs the primary to kill the old ticket).</summary>
    NotAvailableDuringOutage = 5,
}
