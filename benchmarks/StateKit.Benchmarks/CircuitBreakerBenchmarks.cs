using System;
using System.Threading;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Polly;
using Polly.CircuitBreaker;
using StateKit.Resilience;

namespace StateKit.Benchmarks;

/// <summary>
/// What a circuit breaker adds to one store call that completes synchronously (a hit, the cheapest call there is, so the
/// breaker's own cost is what shows). Closed: a direct call (baseline) vs StateKit's breaker vs Polly v8's circuit breaker
/// (Polly.Core 8.9.1). Open: rejecting a call without throwing — StateKit's permit vs Polly's <c>ExecuteOutcomeAsync</c>
/// (baseline), whose outcome carries a <see cref="BrokenCircuitException"/> instead of throwing it. Both breakers are opened
/// the same way, by failures, with the same settings (ratio 0.5, 10 calls, 30 s window, a break of an hour).
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class CircuitBreakerBenchmarks
{
    private static readonly TimeSpan LongBreak = TimeSpan.FromHours(1);
    private CircuitBreaker _closed = null!;
    private CircuitBreaker _open = null!;
    private ResiliencePipeline _pollyClosed = null!;
    private ResiliencePipeline _pollyOpen = null!;
    private int _value = 41;

    [GlobalSetup]
    public void Setup()
    {
        _closed = new CircuitBreaker("closed", Options());
        _open = new CircuitBreaker("open", Options());
        for (var i = 0; i < 20; i++)
        {
            _open.OnFailure(_open.TryEnter());
        }

        _pollyClosed = Polly();
        _pollyOpen = Polly();
        for (var i = 0; i < 20; i++)
        {
            try
            {
                _pollyOpen.Execute(static () => throw new InvalidOperationException("down"));
            }
            catch (Exception e) when (e is InvalidOperationException or BrokenCircuitException)
            {
            }
        }

        if (_open.State != StateKit.Resilience.CircuitState.Open || _open.TryEnter().IsAllowed)
        {
            throw new InvalidOperationException("StateKit's breaker did not open.");
        }
    }

    [Benchmark(Baseline = true), BenchmarkCategory("Closed")]
    public async ValueTask<int> DirectCall() => await StoreCall(_value);

    [Benchmark, BenchmarkCategory("Closed")]
    public async ValueTask<int> StateKitBreaker_Closed()
    {
        var permit = _closed.TryEnter();
        if (!permit.IsAllowed)
        {
            return -1;
        }

        var result = await StoreCall(_value);
        _closed.OnSuccess(permit);
        return result;
    }

    [Benchmark, BenchmarkCategory("Closed")]
    public ValueTask<int> PollyBreaker_Closed()
        => _pollyClosed.ExecuteAsync(static (value, _) => StoreCall(value), _value, CancellationToken.None);

    [Benchmark(Baseline = true), BenchmarkCategory("Open")]
    public async ValueTask<int> PollyBreaker_Open_Outcome()
    {
        var context = ResilienceContextPool.Shared.Get(CancellationToken.None);
        var outcome = await _pollyOpen.ExecuteOutcomeAsync(
            static async (_, value) => Outcome.FromResult(await StoreCall(value)), context, _value);
        ResilienceContextPool.Shared.Return(context);
        return outcome.Exception is null ? outcome.Result : -1;
    }

    [Benchmark, BenchmarkCategory("Open")]
    public async ValueTask<int> StateKitBreaker_Open()
    {
        var permit = _open.TryEnter();
        if (!permit.IsAllowed)
        {
            return -1;
        }

        var result = await StoreCall(_value);
        _open.OnSuccess(permit);
        return result;
    }

    private static ValueTask<int> StoreCall(int value) => ValueTask.FromResult(value + 1);

    private static CircuitBreakerOptions Options() => new()
    {
        FailureRatio = 0.5,
        MinimumThroughput = 10,
        SamplingDuration = TimeSpan.FromSeconds(30),
        BreakDuration = LongBreak,
    };

    private static ResiliencePipeline Polly() => new ResiliencePipelineBuilder()
        .AddCircuitBreaker(new CircuitBreakerStrategyOptions
        {
            FailureRatio = 0.5,
            MinimumThroughput = 10,
            SamplingDuration = TimeSpan.FromSeconds(30),
            BreakDuration = LongBreak,
            ShouldHandle = new PredicateBuilder().Handle<InvalidOperationException>(),
        })
        .Build();
}
