using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;
using StateKit.Benchmarks.Infrastructure;

namespace StateKit.Benchmarks;

/// <summary>
/// The in-memory store against ASP.NET Core session over MemoryDistributedCache, the same read-modify-write request at 256 B,
/// 4 KB and 64 KB. Targets: at least 10x faster and under 1 KB allocated per request at 256 B.
/// </summary>
[MemoryDiagnoser]
public class InMemoryRequestBenchmarks
{
    private RequestDriver _aspnet = null!;
    private RequestDriver _stateKit = null!;

    [Params(256, 4096, 65536)]
    public int PayloadBytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var shape = new SessionShape(PayloadBytes);
        _aspnet = Strategies.Create(Strategy.AspNetCoreSessionMemory, null);
        _stateKit = Strategies.Create(Strategy.InMemory, null);
        _aspnet.SeedAsync(shape).GetAwaiter().GetResult();
        _stateKit.SeedAsync(shape).GetAwaiter().GetResult();
    }

    [Benchmark(Baseline = true)]
    public ValueTask<int> AspNetCoreSessionOverMemoryCache() => _aspnet.ReadModifyWriteAsync();

    [Benchmark]
    public ValueTask<int> StateKitInMemory() => _stateKit.ReadModifyWriteAsync();
}
