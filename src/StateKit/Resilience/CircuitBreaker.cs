using System;
using System.Collections.Generic;
using System.Threading;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StateKit.Diagnostics;

namespace StateKit.Resilience;

/// <summary>
/// A circuit breaker for one store: opens when the share of failed calls in a sliding window reaches
/// <see cref="CircuitBreakerOptions.FailureRatio"/> over at least <see cref="CircuitBreakerOptions.MinimumThroughput"/> calls,
/// rejects calls for <see cref="CircuitBreakerOptions.BreakDuration"/>, then lets a bounded number of probes through.
/// </summary>
/// <remarks>
/// <para>
/// The store that owns the breaker (<see cref="ResilientSessionStore.CircuitBreaker"/>) is the only one that reports call
/// outcomes to it. Applications read its <see cref="State"/>, watch <see cref="StateChanged"/>, and take it out of service
/// or back by hand with <see cref="Isolate"/> and <see cref="Reset"/>.
/// </para>
/// <para>
/// The closed path takes no lock and allocates nothing: asking for a permit reads one field, and a success is one
/// <see cref="Interlocked"/> increment in the current time bucket, without reading the clock. A timer of the breaker's
/// <see cref="TimeProvider"/> moves the current bucket at the start of each tenth of the window; a failure reads the clock
/// and moves it too (the division that maps a time to its bucket runs once per tenth of the window), then sums the ten
/// buckets to decide whether to open. A rejection is a permit value that is not allowed, never an exception.
/// </para>
/// <para>
/// Counting is statistical: an outcome that races with the reset of a bucket entering a new tenth of the window may be lost,
/// and a success made while that timer is late (a starved thread pool) counts in the tenth before, so it leaves the window
/// that much early. That shifts the ratio by a few calls and never blocks a caller.
/// </para>
/// </remarks>
public sealed class CircuitBreaker
{
    private const int Closed = (int)CircuitState.Closed;
    private const int Open = (int)CircuitState.Open;
    private const int HalfOpen = (int)CircuitState.HalfOpen;
    private const int Isolated = (int)CircuitState.Isolated;

    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Bucket[] _buckets;
    private readonly long _bucketTicks;
    private readonly long _breakTicks;
    private readonly double _failureRatio;
    private readonly int _minimumThroughput;
    private readonly int _maxProbes;
    private readonly TimeSpan _breakDuration;
    private readonly KeyValuePair<string, object?> _storeTag;
    private readonly ITimer _tick;

    private int _state;
    private long _openUntil;

    // The bucket of the current tenth of the window, so that recording an outcome needs no division (see CurrentBucket).
    private Bucket _current;
    private int _probesInFlight;

    /// <param name="name">The name of the store the breaker guards; tags its metrics, logs and events.</param>
    /// <param name="options">When to open and how to recover; validated here.</param>
    /// <param name="timeProvider">The clock, or <see langword="null"/> for <see cref="TimeProvider.System"/>.</param>
    /// <param name="logger">A logger, or <see langword="null"/> for none.</param>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">An option is invalid; the message lists each one.</exception>
    internal CircuitBreaker(string name, CircuitBreakerOptions options, TimeProvider? timeProvider = null, ILogger? logger = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.GetValidationErrors();
        OptionsValidation.ThrowIfAny(typeof(CircuitBreakerOptions), errors, name);

        Name = name;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        _failureRatio = options.FailureRatio;
        _minimumThroughput = options.MinimumThroughput;
        _maxProbes = options.HalfOpenMaxProbes;
        _breakDuration = options.BreakDuration;
        _bucketTicks = Math.Max(1, ToTimestampTicks(options.SamplingDuration) / ResilienceDefaults.BucketCount);
        _breakTicks = Math.Max(1, ToTimestampTicks(options.BreakDuration));
        _buckets = new Bucket[ResilienceDefaults.BucketCount];
        for (var i = 0; i < _buckets.Length; i++)
        {
            _buckets[i] = new Bucket();
        }

        _current = _buckets[0];

        _storeTag = new(StateKitTelemetry.StoreTag, name);

        // Reading the clock costs more than the rest of the closed path (15-50 ns on a VM), so successes do not: this
        // timer moves the current bucket at each bucket boundary instead. It holds the breaker weakly, so that a breaker
        // nobody disposes is still collected, and its timer with it.
        _tick = CreateTimer(_time, static state =>
        {
            if (((WeakReference<CircuitBreaker>)state!).TryGetTarget(out var breaker))
            {
                breaker.OnTick();
            }
        }, new WeakReference<CircuitBreaker>(this));
        OnTick();
    }

    /// <summary>Raised after every state change, on the thread that caused it. Keep handlers short; they must not throw.</summary>
    public event EventHandler<CircuitStateChange>? StateChanged;

    /// <summary>Gets the name of the store the breaker guards.</summary>
    public string Name { get; }

    /// <summary>Gets the current state. An open circuit whose break has ended reports <see cref="CircuitState.Open"/> until a call probes it.</summary>
    public CircuitState State => (CircuitState)Volatile.Read(ref _state);

    /// <summary>Gets how long until an open circuit lets a probe through; <see cref="TimeSpan.Zero"/> when it is not open.</summary>
    public TimeSpan RetryAfter
    {
        get
        {
            if (Volatile.Read(ref _state) != Open)
            {
                return TimeSpan.Zero;
            }

            var remaining = Volatile.Read(ref _openUntil) - _time.GetTimestamp();
            return remaining <= 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(remaining / (double)_time.TimestampFrequency);
        }
    }

    /// <summary>Asks whether a call may go to the store. Allocation-free; never throws.</summary>
    /// <returns>A permit; when <see cref="CircuitPermit.IsAllowed"/> is false the call must not be made.</returns>
    internal CircuitPermit TryEnter()
    {
        var state = Volatile.Read(ref _state);
        if (state == Closed)
        {
            return CircuitPermit.Allowed;
        }

        if (state == Open)
        {
            if (_time.GetTimestamp() < Volatile.Read(ref _openUntil) || !Transition(Open, HalfOpen))
            {
                return Reject(Open);
            }

            state = HalfOpen;
        }

        if (state == HalfOpen)
        {
            if (Interlocked.Increment(ref _probesInFlight) <= _maxProbes)
            {
                return CircuitPermit.Probe;
            }

            Interlocked.Decrement(ref _probesInFlight);
            return Reject(HalfOpen);
        }

        // Isolated, or another thread closed the circuit in between: only the former rejects.
        return state == Isolated ? Reject(Isolated) : CircuitPermit.Allowed;
    }

    /// <summary>Reports that a permitted call succeeded, or failed in a way that says nothing about the store's health (a conflict, a too-large payload).</summary>
    /// <param name="permit">The permit <see cref="TryEnter"/> gave.</param>
    internal void OnSuccess(CircuitPermit permit)
    {
        if (permit.IsProbe)
        {
            if (Transition(HalfOpen, Closed))
            {
                ClearBuckets();
            }

            return;
        }

        if (permit.IsAllowed)
        {
            // No clock read: the timer keeps _current on the tenth of the window that is running.
            Interlocked.Increment(ref Volatile.Read(ref _current).Successes);
        }
    }

    /// <summary>Reports that a permitted call failed in a way that counts against the store: unavailable, timed out.</summary>
    /// <param name="permit">The permit <see cref="TryEnter"/> gave.</param>
    internal void OnFailure(CircuitPermit permit)
    {
        var now = _time.GetTimestamp();
        if (permit.IsProbe)
        {
            Volatile.Write(ref _openUntil, now + _breakTicks);
            Volatile.Write(ref _probesInFlight, 0);
            Transition(HalfOpen, Open);
            return;
        }

        if (!permit.IsAllowed)
        {
            return;
        }

        Interlocked.Increment(ref CurrentBucket(now).Failures);
        if (Volatile.Read(ref _state) == Closed && ShouldOpen(now))
        {
            Volatile.Write(ref _openUntil, now + _breakTicks);
            Volatile.Write(ref _probesInFlight, 0);
            Transition(Closed, Open);
        }
    }

    /// <summary>Reports that a permitted call ended without an outcome that tells anything (the caller cancelled): a probe slot is freed, nothing is counted.</summary>
    /// <param name="permit">The permit <see cref="TryEnter"/> gave.</param>
    internal void OnIgnored(CircuitPermit permit)
    {
        if (permit.IsProbe && Volatile.Read(ref _state) == HalfOpen)
        {
            Interlocked.Decrement(ref _probesInFlight);
        }
    }

    /// <summary>Opens the circuit by hand and keeps it open until <see cref="Reset"/>, e.g. for maintenance of the store.</summary>
    public void Isolate()
    {
        var from = Interlocked.Exchange(ref _state, Isolated);
        if (from != Isolated)
        {
            Raise(from, Isolated);
        }
    }

    /// <summary>Closes the circuit by hand and forgets every sampled outcome.</summary>
    public void Reset()
    {
        ClearBuckets();
        var from = Interlocked.Exchange(ref _state, Closed);
        if (from != Closed)
        {
            Raise(from, Closed);
        }
    }

    /// <summary>Stops the timer that moves the current bucket; called when the owning store is disposed.</summary>
    internal void Dispose() => _tick.Dispose();

    private static ITimer CreateTimer(TimeProvider time, TimerCallback callback, object state)
    {
        // Armed by OnTick once the field is set, so that the first callback can re-arm it. The timer must not capture the
        // ExecutionContext of whoever built the store (its AsyncLocals would live as long as the breaker).
        if (ExecutionContext.IsFlowSuppressed())
        {
            return time.CreateTimer(callback, state, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }

        using (ExecutionContext.SuppressFlow())
        {
            return time.CreateTimer(callback, state, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }
    }

    private void OnTick()
    {
        var now = _time.GetTimestamp();
        CurrentBucket(now);

        // One-shot, re-armed for the next boundary from the clock read here: a timer that fires early (a system timer
        // counts in whole milliseconds) finds the same bucket and fires again at the boundary, and one that fires late
        // does not drift the next boundary.
        var remaining = ((now / _bucketTicks) + 1) * _bucketTicks - now;
        var due = TimeSpan.FromTicks(Math.Max(1, (long)Math.Ceiling(remaining * (double)TimeSpan.TicksPerSecond / _time.TimestampFrequency)));
        try
        {
            _tick.Change(due, Timeout.InfiniteTimeSpan);
        }
        catch (ObjectDisposedException)
        {
            // Disposed with its store: successes stop counting in new buckets, and nothing is left to count them.
        }
    }

    private CircuitPermit Reject(int state)
    {
        StateKitTelemetry.Rejections.Add(1, _storeTag, new(StateKitTelemetry.ReasonTag, state == Isolated ? "circuit_isolated" : "circuit_open"));
        return CircuitPermit.Rejected;
    }

    private bool ShouldOpen(long now)
    {
        var epoch = now / _bucketTicks;
        long total = 0;
        long failures = 0;
        foreach (var bucket in _buckets)
        {
            var bucketEpoch = Volatile.Read(ref bucket.Epoch);
            if (bucketEpoch > epoch - _buckets.Length && bucketEpoch <= epoch)
            {
                var f = Volatile.Read(ref bucket.Failures);
                total += f + Volatile.Read(ref bucket.Successes);
                failures += f;
            }
        }

        return total >= _minimumThroughput && failures >= _failureRatio * total;
    }

    private Bucket CurrentBucket(long now)
    {
        // Fast path, taken by every call but the first of each tenth of the window: no division, one read of each bound.
        var current = Volatile.Read(ref _current);
        if (now < Volatile.Read(ref current.End) && now >= Volatile.Read(ref current.Start))
        {
            return current;
        }

        return EnterBucket(now);
    }

    private Bucket EnterBucket(long now)
    {
        var epoch = now / _bucketTicks;
        var bucket = _buckets[(int)(epoch % _buckets.Length)];
        var seen = Volatile.Read(ref bucket.Epoch);
        if (seen < epoch && Interlocked.CompareExchange(ref bucket.Epoch, epoch, seen) == seen)
        {
            // This thread moved the bucket to a new tenth of the window: what it held is out of the window now.
            Interlocked.Exchange(ref bucket.Successes, 0);
            Interlocked.Exchange(ref bucket.Failures, 0);
        }

        if (Volatile.Read(ref bucket.Epoch) == epoch)
        {
            // The bounds are published after the epoch, so a reader of the fast path never sees bounds of a newer epoch
            // than the counts it increments belong to (a race can only send an outcome to the slow path).
            Volatile.Write(ref bucket.Start, epoch * _bucketTicks);
            Volatile.Write(ref bucket.End, (epoch + 1) * _bucketTicks);
            Volatile.Write(ref _current, bucket);
        }

        return bucket;
    }

    private void ClearBuckets()
    {
        foreach (var bucket in _buckets)
        {
            // Empty bounds first, so the fast path stops taking a bucket that is being cleared.
            Volatile.Write(ref bucket.End, long.MinValue);
            Volatile.Write(ref bucket.Start, long.MaxValue);
            Volatile.Write(ref bucket.Epoch, long.MinValue);
            Interlocked.Exchange(ref bucket.Successes, 0);
            Interlocked.Exchange(ref bucket.Failures, 0);
        }

        // Successes count in _current without reading the clock: give them a bucket of the running tenth now, not at the
        // next tick.
        EnterBucket(_time.GetTimestamp());
    }

    private bool Transition(int from, int to)
    {
        if (Interlocked.CompareExchange(ref _state, to, from) != from)
        {
            return false;
        }

        Raise(from, to);
        return true;
    }

    private void Raise(int from, int to)
    {
        StateKitTelemetry.CircuitTransitions.Add(1, _storeTag, new(StateKitTelemetry.CircuitStateTag, StateName(to)));
        switch ((CircuitState)to)
        {
            case CircuitState.Open:
                Log.CircuitOpened(_logger, Name, _breakDuration);
                break;
            case CircuitState.HalfOpen:
                Log.CircuitHalfOpened(_logger, Name);
                break;
            case CircuitState.Closed:
                Log.CircuitClosed(_logger, Name);
                break;
            default:
                Log.CircuitIsolated(_logger, Name);
                break;
        }

        StateChanged?.Invoke(this, new CircuitStateChange(Name, (CircuitState)from, (CircuitState)to, _time.GetUtcNow()));
    }

    private static string StateName(int state) => state switch
    {
        Closed => "closed",
        Open => "open",
        HalfOpen => "half_open",
        _ => "isolated",
    };

    private long ToTimestampTicks(TimeSpan duration) => (long)(duration.TotalSeconds * _time.TimestampFrequency);

    // A class, so that Interlocked can take references to its fields; ten of them are allocated once per breaker.
    private sealed class Bucket
    {
        public long Epoch = long.MinValue;

        // The timestamps this bucket's epoch covers, [Start, End); empty until a thread enters the bucket.
        public long Start = long.MaxValue;
        public long End = long.MinValue;
        public int Successes;
        public int Failures;
    }
}
