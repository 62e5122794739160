using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;
using StateKit.Benchmarks.Infrastructure;

namespace StateKit.Benchmarks;

/// <summary>
/// One request's work — load the session, read <c>cart</c>, change it, commit — for every strategy and baseline, at about
/// 256 B, 4 KB and 64 KB of session. One body, <see cref="Case"/> over strategy and payload (as the aspnetcore caching
/// micro-benchmarks do over backends). Client-held stores stop at 4 KB (<see cref="Strategies.ClientHeldMaxPayloadBytes"/>).
/// Ratios against the ASP.NET Core session rows of the same payload are computed by <c>benchmarks/report.py</c>.
/// </summary>
[MemoryDiagnoser]
public class StrategyRequestBenchmarks
{
    private BenchRedis? _redis;
    private RequestDriver _driver = null!;

    [ParamsSource(nameof(Cases))]
    public RequestCase Case { get; set; } = null!;

    public static IEnumerable<RequestCase> Cases()
    {
        foreach (var payload in (int[])[256, 4096, 65536])
        {
            foreach (var strategy in Enum.GetValues<Strategy>())
            {
                if (!Strategies.IsClientHeld(strategy) || payload <= Strategies.ClientHeldMaxPayloadBytes)
                {
                    yield return new RequestCase(strategy, payload);
                }
            }
        }
    }

    [GlobalSetup]
    public void Setup()
    {
        if (Strategies.NeedsRedis(Case.Strategy))
        {
            _redis = BenchRedis.Start();
        }

        _driver = Strategies.Create(Case.Strategy, _redis?.Redis);
        _driver.SeedAsync(new SessionShape(Case.PayloadBytes)).GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup() => _redis?.Dispose();

    [Benchmark]
    public ValueTask<int> Request() => _driver.ReadModifyWriteAsync();
}

/// <summary>A strategy at a payload size; shown as <c>Strategy/bytes</c>, ordered by payload, then strategy.</summary>
public sealed record RequestCase(Strategy Strategy, int PayloadBytes) : IComparable<RequestCase>, IComparable
{
    public override string ToString() => $"{Strategy}/{PayloadBytes}";

    public int CompareTo(RequestCase? other) => other is null ? 1
        : PayloadBytes != other.PayloadBytes ? PayloadBytes.CompareTo(other.PayloadBytes) : Strategy.CompareTo(other.Strategy);

    public int CompareTo(object? obj) => CompareTo(obj as RequestCase);
}
