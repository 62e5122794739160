namespace StateKit.Resilience;

/// <summary>What one reconciliation pass did with the outage journal. Every journaled session is counted once, in exactly one of these.</summary>
public readonly struct ReconciliationReport
{
    internal ReconciliationReport(int replayed, int merged, int dropped, int remaining)
    {
        Replayed = replayed;
        Merged = merged;
        Dropped = dropped;
        Remaining = remaining;
    }

    /// <summary>Gets how many sessions were replayed to the primary with no conflict.</summary>
    public int Replayed { get; }

    /// <summary>Gets how many sessions conflicted with a newer primary version and were replayed after the merge policy resolved them.</summary>
    public int Merged { get; }

    /// <summary>Gets how many sessions' journaled writes were dropped (journal overflow) since the previous report.</summary>
    public int Dropped { get; }

    /// <summary>Gets how many sessions are still journaled: the primary failed again, or kept conflicting.</summary>
    public int Remaining { get; }
}
