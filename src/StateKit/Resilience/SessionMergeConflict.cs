using System;

namespace StateKit.Resilience;

/// <summary>
/// One key of a journaled session whose primary copy moved on during the outage: what the primary holds now and what the
/// outage wrote. Handed to a <see cref="SessionMergeHandler"/>.
/// </summary>
public readonly struct SessionMergeConflict
{
    internal SessionMergeConflict(string sessionId, string key, ReadOnlyMemory<byte>? current, ReadOnlyMemory<byte>? journaled, long currentVersion, long? journalBaseVersion)
    {
        SessionId = sessionId;
        Key = key;
        Current = current;
        Journaled = journaled;
        CurrentVersion = currentVersion;
        JournalBaseVersion = journalBaseVersion;
    }

    /// <summary>Gets the id of the session in the primary store.</summary>
    public string SessionId { get; }

    /// <summary>Gets the key.</summary>
    public string Key { get; }

    /// <summary>Gets the value the primary holds now, or <see langword="null"/> when it holds none.</summary>
    public ReadOnlyMemory<byte>? Current { get; }

    /// <summary>Gets the value written during the outage, or <see langword="null"/> when the outage removed the key.</summary>
    public ReadOnlyMemory<byte>? Journaled { get; }

    /// <summary>Gets the primary's version now.</summary>
    public long CurrentVersion { get; }

    /// <summary>Gets the primary version the outage writes were based on, or <see langword="null"/> when the session had not been loaded before the outage.</summary>
    public long? JournalBaseVersion { get; }
}
