using System;

namespace StateKit.Sticky;

/// <summary>What <see cref="StickySessionStore.DrainAsync"/> did.</summary>
public readonly record struct StickyDrainResult
{
    /// <summary>Gets how many live sessions the node held when the drain started.</summary>
    public int Sessions { get; init; }

    /// <summary>Gets how many of them were written to the backup store.</summary>
    public int Flushed { get; init; }

    /// <summary>Gets how many writes the backup store refused or failed.</summary>
    public int Failed { get; init; }

    /// <summary>Gets how many were not reached before the deadline (or cancellation).</summary>
    public int Remaining => Sessions - Flushed - Failed;

    /// <summary>Gets how long the drain took.</summary>
    public TimeSpan Elapsed { get; init; }

    /// <summary>Gets a value indicating whether a backup store was configured; without one every live session is lost when the node stops.</summary>
    public bool HasBackup { get; init; }
}
