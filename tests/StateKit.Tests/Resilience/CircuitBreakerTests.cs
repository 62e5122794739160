using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using StateKit.Resilience;

namespace StateKit.Tests.Resilience;

public sealed class CircuitBreakerTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));

    private CircuitBreaker Create(int minimumThroughput = 10, double ratio = 0.5, int probes = 1) => new(
        "test",
        new CircuitBreakerOptions
        {
            FailureRatio = ratio,
            MinimumThroughput = minimumThroughput,
            SamplingDuration = TimeSpan.FromSeconds(10),
            BreakDuration = TimeSpan.FromSeconds(5),
            HalfOpenMaxProbes = probes,
        },
        _time);

    private static void Run(CircuitBreaker breaker, int successes, int failures)
    {
        for (var i = 0; i < successes; i++)
        {
            var permit = breaker.TryEnter();
            Assert.True(permit.IsAllowed);
            breaker.OnSuccess(permit);
        }

        for (var i = 0; i < failures; i++)
        {
            var permit = breaker.TryEnter();
            if (permit.IsAllowed)
            {
                breaker.OnFailure(permit);
            }
        }
    }

    [Fact]
    public void ClosedPath_ManyCallsAndSomeFailures_AllocatesZeroBytes()
    {
        var breaker = Create(ratio: 0.5);
        Run(breaker, 100, 1); // warm up every code path, JIT included

        // The fake clock's own timer bookkeeping (a waiter per re-arm of the breaker's bucket timer) is not the closed path's.
        long fakeClock = 0;
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100_000; i++)
        {
            var permit = breaker.TryEnter();
            if (i % 10 == 0)
            {
                breaker.OnFailure(permit); // 10% failures: sums the window, stays closed
            }
            else
            {
                breaker.OnSuccess(permit);
            }

            if (i % 1_000 == 0)
            {
                var advancing = GC.GetAllocatedBytesForCurrentThread();
                _time.Advance(TimeSpan.FromMilliseconds(300)); // roll through buckets too
                fakeClock += GC.GetAllocatedBytesForCurrentThread() - advancing;
            }
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before - fakeClock;
        Assert.Equal(CircuitState.Closed, breaker.State);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void OnSuccess_WhileClosed_ReadsNoClock()
    {
        // Reading the clock was most of the closed path's cost: successes count in the bucket the timer keeps current.
        var time = new CountingTimeProvider();
        var breaker = new CircuitBreaker("test", new CircuitBreakerOptions { SamplingDuration = TimeSpan.FromSeconds(10) }, time);
        time.Advance(TimeSpan.FromSeconds(1)); // a tick: the timer moves the bucket, and reads the clock for it
        var reads = time.TimestampReads;

        for (var i = 0; i < 1_000; i++)
        {
            breaker.OnSuccess(breaker.TryEnter());
        }

        Assert.Equal(reads, time.TimestampReads);
    }

    [Fact]
    public void OnSuccess_AfterATick_CountsInTheNewTenthAndAgesOutWithIt()
    {
        // 10 successes in the first tenth, then a failure every second: the successes hold the circuit closed until their
        // tenth leaves the window, which only the timer's move to a new tenth (no clock read on success) makes right.
        var breaker = Create(minimumThroughput: 5, ratio: 0.5);
        _time.Advance(TimeSpan.FromSeconds(0.5));
        Run(breaker, successes: 10, failures: 0);
        _time.Advance(TimeSpan.FromSeconds(1));
        Run(breaker, successes: 10, failures: 0); // in the second tenth

        _time.Advance(TimeSpan.FromSeconds(8.6)); // the first tenth has left the window, the second has not
        Run(breaker, successes: 0, failures: 9);
        Assert.Equal(CircuitState.Closed, breaker.State); // 9 of 19

        _time.Advance(TimeSpan.FromSeconds(1)); // the second tenth has left too
        Run(breaker, successes: 0, failures: 1);
        Assert.Equal(CircuitState.Open, breaker.State); // 10 of 10
    }

    [Fact]
    public void OnFailure_RatioReachedAfterMinimumThroughput_Opens()
    {
        var breaker = Create(minimumThroughput: 10, ratio: 0.5);

        Run(breaker, successes: 5, failures: 4);
        Assert.Equal(CircuitState.Closed, breaker.State); // 4 of 9: under throughput and ratio

        Run(breaker, successes: 0, failures: 1);
        Assert.Equal(CircuitState.Open, breaker.State); // 5 of 10
    }

    [Fact]
    public void OnFailure_BelowMinimumThroughput_StaysClosedEvenAtFullRatio()
    {
        var breaker = Create(minimumThroughput: 10);

        Run(breaker, successes: 0, failures: 9);

        Assert.Equal(CircuitState.Closed, breaker.State);
    }

    [Fact]
    public void OnFailure_OldFailuresOutsideTheWindow_DoNotCount()
    {
        var breaker = Create(minimumThroughput: 10);
        Run(breaker, successes: 0, failures: 9);

        _time.Advance(TimeSpan.FromSeconds(11)); // past the 10 s window
        Run(breaker, successes: 9, failures: 1);

        Assert.Equal(CircuitState.Closed, breaker.State);
    }

    [Fact]
    public void Outcomes_AcrossEveryTenthOfTheWindow_CountWhereTheyHappened()
    {
        // Outcomes go to the current tenth of the window through cached bounds: moving a tenth at a time, each outcome
        // must land in its own tenth, and age out exactly when that tenth leaves the window.
        var breaker = Create(minimumThroughput: 10);
        for (var tenth = 0; tenth < 10; tenth++)
        {
            Run(breaker, successes: 1, failures: 0);
            _time.Advance(TimeSpan.FromSeconds(1));
        }

        // One success per second for ten seconds; now the first has left the window: four failures make 4 of 13, under the ratio.
        Run(breaker, successes: 0, failures: 4);
        Assert.Equal(CircuitState.Closed, breaker.State);

        // Five more seconds: only the successes of seconds 6 to 9 remain; with 4 + 2 failures that is 6 of 10, the ratio.
        _time.Advance(TimeSpan.FromSeconds(5));
        Run(breaker, successes: 0, failures: 2);
        Assert.Equal(CircuitState.Open, breaker.State);
    }

    [Fact]
    public void Reset_ThenOutcomesInTheSameTenth_CountFromZero()
    {
        var breaker = Create(minimumThroughput: 10);
        Run(breaker, successes: 0, failures: 9);
        breaker.Reset();

        Run(breaker, successes: 9, failures: 1);
        Assert.Equal(CircuitState.Closed, breaker.State);

        Run(breaker, successes: 0, failures: 9);
        Assert.Equal(CircuitState.Open, breaker.State);
    }

    [Fact]
    public void TryEnter_WhileOpen_RejectsWithoutThrowingUntilTheBreakEnds()
    {
        var breaker = Create(minimumThroughput: 2);
        Run(breaker, 0, 2);
        Assert.Equal(CircuitState.Open, breaker.State);

        Assert.False(breaker.TryEnter().IsAllowed);
        Assert.Equal(TimeSpan.FromSeconds(5), breaker.RetryAfter);
        _time.Advance(TimeSpan.FromSeconds(4.9));
        Assert.False(breaker.TryEnter().IsAllowed);

        _time.Advance(TimeSpan.FromSeconds(0.1));
        var probe = breaker.TryEnter();
        Assert.True(probe.IsAllowed);
        Assert.True(probe.IsProbe);
        Assert.Equal(CircuitState.HalfOpen, breaker.State);
    }

    [Fact]
    public void HalfOpen_BoundsProbes_FirstSuccessCloses()
    {
        var breaker = Create(minimumThroughput: 2, probes: 2);
        Run(breaker, 0, 2);
        _time.Advance(TimeSpan.FromSeconds(5));

        var first = breaker.TryEnter();
        var second = breaker.TryEnter();
        var third = breaker.TryEnter();
        Assert.True(first.IsProbe && second.IsProbe);
        Assert.False(third.IsAllowed);

        breaker.OnSuccess(first);
        Assert.Equal(CircuitState.Closed, breaker.State);

        // Closing forgets the failures that opened it: one more failure does not re-open.
        Run(breaker, 0, 1);
        Assert.Equal(CircuitState.Closed, breaker.State);
    }

    [Fact]
    public void HalfOpen_ProbeFails_ReopensForAnotherBreak()
    {
        var breaker = Create(minimumThroughput: 2);
        Run(breaker, 0, 2);
        _time.Advance(TimeSpan.FromSeconds(5));

        breaker.OnFailure(breaker.TryEnter());

        Assert.Equal(CircuitState.Open, breaker.State);
        Assert.False(breaker.TryEnter().IsAllowed);
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.True(breaker.TryEnter().IsProbe);
    }

    [Fact]
    public void HalfOpen_IgnoredProbe_FreesItsSlot()
    {
        var breaker = Create(minimumThroughput: 2);
        Run(breaker, 0, 2);
        _time.Advance(TimeSpan.FromSeconds(5));

        var probe = breaker.TryEnter();
        Assert.False(breaker.TryEnter().IsAllowed);
        breaker.OnIgnored(probe); // the caller cancelled: no verdict

        Assert.True(breaker.TryEnter().IsProbe);
    }

    [Fact]
    public void IsolateAndReset_RaiseEventsInOrder()
    {
        var breaker = Create();
        var changes = new List<CircuitStateChange>();
        breaker.StateChanged += (_, change) => changes.Add(change);

        breaker.Isolate();
        Assert.False(breaker.TryEnter().IsAllowed);
        _time.Advance(TimeSpan.FromHours(1)); // isolation does not time out
        Assert.False(breaker.TryEnter().IsAllowed);
        breaker.Reset();

        Assert.True(breaker.TryEnter().IsAllowed);
        Assert.Equal(
            new[] { (CircuitState.Closed, CircuitState.Isolated), (CircuitState.Isolated, CircuitState.Closed) },
            changes.Select(c => (c.From, c.To)).ToArray());
        Assert.All(changes, c => Assert.Equal("test", c.Name));
        Assert.Equal(_time.GetUtcNow(), changes[1].At);
    }

    [Fact]
    public void StateChanged_FullCycle_ReportsOpenHalfOpenClosed()
    {
        var breaker = Create(minimumThroughput: 2);
        var changes = new List<CircuitState>();
        breaker.StateChanged += (_, change) => changes.Add(change.To);

        Run(breaker, 0, 2);
        _time.Advance(TimeSpan.FromSeconds(5));
        breaker.OnSuccess(breaker.TryEnter());

        Assert.Equal(new[] { CircuitState.Open, CircuitState.HalfOpen, CircuitState.Closed }, changes.ToArray());
    }

    [Fact]
    public async Task ClosedPath_ConcurrentCallers_CountWithoutLocksAndStillOpen()
    {
        var breaker = Create(minimumThroughput: 1_000, ratio: 0.9);

        // 8 threads, all failing: the lock-free counters must add up enough to open the circuit.
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => Run(breaker, 0, 500))));

        Assert.Equal(CircuitState.Open, breaker.State);
    }

    [Fact]
    public void Constructor_InvalidOptions_ListsEveryProblem()
    {
        var options = new CircuitBreakerOptions
        {
            FailureRatio = 0,
            MinimumThroughput = 0,
            SamplingDuration = TimeSpan.Zero,
            BreakDuration = TimeSpan.Zero,
            HalfOpenMaxProbes = 0,
        };

        var error = Assert.Throws<OptionsValidationException>(() => new CircuitBreaker("x", options));

        Assert.Equal(5, error.Failures.Count());
        Assert.Contains(error.Failures, f => f.StartsWith("FailureRatio", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.StartsWith("HalfOpenMaxProbes", StringComparison.Ordinal));
    }

    private sealed class CountingTimeProvider : FakeTimeProvider
    {
        private int _reads;

        public int TimestampReads => Volatile.Read(ref _reads);

        public override long GetTimestamp()
        {
            Interlocked.Increment(ref _reads);
            return base.GetTimestamp();
        }
    }
}
