using System;
using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Threading;

namespace StateKit;

/// <summary>
/// A bounded map from a ticket string to what verifying it found, so that a client's next requests with the same string
/// skip the signature or MAC. Only the exact string hits; whatever can change for a string (time, revocation, the
/// session itself) stays the caller's to judge on every hit. Linked as source into each package that verifies tickets
/// (the sticky store, the JWT store).
/// </summary>
/// <typeparam name="TValue">What a verification found.</typeparam>
/// <remarks>
/// Reads take no lock. Writes (a miss that verified in full, or a ticket the store just issued) take one: they follow a
/// verification or a signature that costs far more, and the lock is what keeps <see cref="Count"/> exact and the map at
/// most <see cref="Capacity"/> entries however many threads insert at once. When full, the map starts over rather than
/// keep an eviction order on the hit path: the next request of each user verifies once more.
/// </remarks>
internal sealed class TicketCache<TValue>
    where TValue : class
{
    private readonly ConcurrentDictionary<string, TValue> _entries = new(StringComparer.Ordinal);
    private readonly Lock _writes = new();

    // Kept here: ConcurrentDictionary.Count takes every one of its locks, which costs more than the verification it saves.
    private int _count;

    /// <summary>Initializes a new instance of the <see cref="TicketCache{TValue}"/> class.</summary>
    /// <param name="capacity">How many tickets it remembers at most; 0 or less remembers none.</param>
    public TicketCache(int capacity) => Capacity = capacity;

    /// <summary>Gets or sets how many tickets the cache remembers at most; 0 or less remembers none. Lowering it applies from the next insert.</summary>
    public int Capacity { get; set; }

    /// <summary>Gets how many tickets the cache remembers.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Looks a ticket string up.</summary>
    /// <param name="ticket">The exact string the client presented.</param>
    /// <param name="value">What verifying it found, when remembered.</param>
    /// <returns><see langword="true"/> when the string is remembered.</returns>
    public bool TryGet(string ticket, [MaybeNullWhen(false)] out TValue value)
    {
        // An empty cache (or one turned off) answers without hashing the ticket, which can be kilobytes long.
        if (Volatile.Read(ref _count) == 0)
        {
            value = null;
            return false;
        }

        return _entries.TryGetValue(ticket, out value);
    }

    /// <summary>Remembers what verifying a ticket string found; when the cache is full, it forgets everything else first.</summary>
    /// <param name="ticket">The exact string.</param>
    /// <param name="value">What verifying it found.</param>
    public void Add(string ticket, TValue value)
    {
        var capacity = Capacity;
        if (capacity <= 0)
        {
            return;
        }

        lock (_writes)
        {
            if (_count >= capacity && !_entries.ContainsKey(ticket))
            {
                _entries.Clear();
                Volatile.Write(ref _count, 0);
            }

            if (_entries.TryAdd(ticket, value))
            {
                Volatile.Write(ref _count, _count + 1);
            }
        }
    }

    /// <summary>Forgets a ticket string, e.g. one whose time has passed.</summary>
    /// <param name="ticket">The exact string.</param>
    public void Remove(string ticket)
    {
        lock (_writes)
        {
            if (_entries.TryRemove(ticket, out _))
            {
                Volatile.Write(ref _count, _count - 1);
            }
        }
    }
}
