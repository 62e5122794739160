using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using StateKit.Benchmarks.Infrastructure;

namespace StateKit.Benchmarks;

/// <summary>
/// The Redis store against ASP.NET Core session over RedisCache and the raw StackExchange.Redis floors, per request shape:
/// read-modify-write, read-only, write-only (blind) and untouched. Each shape is a category with its own baseline (ASP.NET
/// Core session doing the same), so Ratio reads "StateKit costs this much of what the app pays today".
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class RedisRequestBenchmarks
{
    private BenchRedis _redis = null!;
    private RequestDriver _aspnet = null!;
    private RequestDriver _stateKit = null!;
    private RequestDriver _raw2 = null!;
    private RequestDriver _raw1 = null!;

    [Params(256, 4096, 65536)]
    public int PayloadBytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _redis = BenchRedis.Start();
        var shape = new SessionShape(PayloadBytes);
        _aspnet = Strategies.Create(Strategy.AspNetCoreSessionRedis, _redis.Redis);
        _stateKit = Strategies.Create(Strategy.Redis, _redis.Redis);
        _raw2 = Strategies.Create(Strategy.RawRedis2RoundTrips, _redis.Redis);
        _raw1 = Strategies.Create(Strategy.RawRedis1RoundTrip, _redis.Redis);
        foreach (var driver in (RequestDriver[])[_aspnet, _stateKit, _raw2, _raw1])
        {
            driver.SeedAsync(shape).GetAwaiter().GetResult();
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _redis.Dispose();

    [Benchmark(Baseline = true), BenchmarkCategory("ReadModifyWrite")]
    public ValueTask<int> AspNetCoreSession_RMW() => _aspnet.ReadModifyWriteAsync();

    [Benchmark, BenchmarkCategory("ReadModifyWrite")]
    public ValueTask<int> RawGetThenSet_RMW() => _raw2.ReadModifyWriteAsync();

    [Benchmark, BenchmarkCategory("ReadModifyWrite")]
    public ValueTask<int> RawPipelined_RMW() => _raw1.ReadModifyWriteAsync();

    [Benchmark, BenchmarkCategory("ReadModifyWrite")]
    public ValueTask<int> StateKitRedis_RMW() => _stateKit.ReadModifyWriteAsync();

    [Benchmark(Baseline = true), BenchmarkCategory("ReadOnly")]
    public ValueTask<int> AspNetCoreSession_Read() => _aspnet.ReadOnlyAsync();

    [Benchmark, BenchmarkCategory("ReadOnly")]
    public ValueTask<int> RawGetEx_Read() => _raw2.ReadOnlyAsync();

    [Benchmark, BenchmarkCategory("ReadOnly")]
    public ValueTask<int> StateKitRedis_Read() => _stateKit.ReadOnlyAsync();

    [Benchmark(Baseline = true), BenchmarkCategory("WriteOnly")]
    public ValueTask<int> AspNetCoreSession_Write() => _aspnet.WriteOnlyAsync();

    [Benchmark, BenchmarkCategory("WriteOnly")]
    public ValueTask<int> RawSet_Write() => _raw2.WriteOnlyAsync();

    [Benchmark, BenchmarkCategory("WriteOnly")]
    public ValueTask<int> StateKitRedis_Write() => _stateKit.WriteOnlyAsync();

    [Benchmark(Baseline = true), BenchmarkCategory("Untouched")]
    public ValueTask<int> AspNetCoreSession_Untouched() => _aspnet.UntouchedAsync();

    [Benchmark, BenchmarkCategory("Untouched")]
    public ValueTask<int> StateKitRedis_Untouched() => _stateKit.UntouchedAsync();
}
