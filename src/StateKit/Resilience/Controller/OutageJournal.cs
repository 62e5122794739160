using System.Collections.Generic;
using System.Threading;
using Microsoft.Extensions.Logging;
using StateKit.Diagnostics;

namespace StateKit.Resilience;

/// <summary>
/// Counts the sessions whose outage writes wait for replay and keeps them within <see cref="ResilienceOptions.JournalCapacity"/>:
/// when full it refuses a new session or drops the oldest one's writes, as <see cref="ResilienceOptions.JournalOverflow"/> says.
/// </summary>
internal sealed class OutageJournal
{
    private readonly OutageRouter _router;
    private readonly CircuitBreaker _breaker;
    private readonly int _capacity;
    private readonly JournalOverflowPolicy _overflow;
    private readonly ILogger _logger;
    private readonly KeyValuePair<string, object?> _storeTag;
    private int _count;
    private int _droppedSinceReport;

    public OutageJournal(OutageRouter router, CircuitBreaker breaker, ResilienceOptions options, ILogger logger)
    {
        _router = router;
        _breaker = breaker;
        _capacity = options.JournalCapacity;
        _overflow = options.JournalOverflow;
        _logger = logger;
        _storeTag = new(StateKitTelemetry.StoreTag, breaker.Name);
    }

    /// <summary>Gets how many sessions have journaled writes not yet replayed to the primary.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Makes room for one more session: refuses it when full under <see cref="JournalOverflowPolicy.RejectNew"/>, else drops the oldest.</summary>
    /// <exception cref="SessionStoreRejectedException">The journal is full and refuses new sessions.</exception>
    public void MakeRoom()
    {
        if (Volatile.Read(ref _count) < _capacity)
        {
            return;
        }

        if (_overflow == JournalOverflowPolicy.RejectNew)
        {
            StateKitTelemetry.Rejections.Add(1, _storeTag, new(StateKitTelemetry.ReasonTag, "journal_full"));
            Log.JournalFull(_logger, _breaker.Name, _capacity);
            throw new SessionStoreRejectedException(_breaker.Name, SessionStoreRejectionReason.JournalFull, _breaker.RetryAfter);
        }

        var oldest = _router.OldestJournaled();
        if (oldest is not null)
        {
            Remove(oldest);
            _router.Remove(oldest);
            Interlocked.Increment(ref _droppedSinceReport);
            StateKitTelemetry.JournalDropped.Add(1, _storeTag, new(StateKitTelemetry.ReasonTag, "overflow"));
            Log.JournalEntryDropped(_logger, _breaker.Name, _capacity);
        }
    }

    /// <summary>Counts a route's writes as waiting for replay, once.</summary>
    public void Add(OutageRoute route)
    {
        if (!route.Journaled)
        {
            route.Journaled = true;
            Interlocked.Increment(ref _count);
            StateKitTelemetry.JournalDepth.Add(1, _storeTag);
        }
    }

    /// <summary>Stops counting a route's writes: replayed, or dropped.</summary>
    public void Remove(OutageRoute route)
    {
        if (route.Journaled)
        {
            route.Journaled = false;
            Interlocked.Decrement(ref _count);
            StateKitTelemetry.JournalDepth.Add(-1, _storeTag);
        }
    }

    /// <summary>Gets a value indicating whether anything waits for replay: journaled sessions, or revocations of tickets the fallback did not issue.</summary>
    public bool HasPending => Volatile.Read(ref _count) != 0 || _router.HasRevocations;

    /// <summary>
    /// Counts a revocation of a ticket the fallback never held that was forgotten to bound the list: a metric only, since
    /// made-up tickets can cause it at will and the report counts genuine sessions' losses.
    /// </summary>
    public void CountForgottenRevocation()
        => StateKitTelemetry.JournalDropped.Add(1, _storeTag, new(StateKitTelemetry.ReasonTag, "revocations_full"));

    /// <summary>Takes the number of sessions dropped since the last call, for the reconciliation report.</summary>
    public int TakeDropped() => Interlocked.Exchange(ref _droppedSinceReport, 0);
}
