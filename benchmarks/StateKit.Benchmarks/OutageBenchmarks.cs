using System;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using StateKit.Benchmarks.Infrastructure;
using StateKit.DependencyInjection;
using StateKit.Redis;
using StateKit.Resilience;

namespace StateKit.Benchmarks;

/// <summary>
/// What a request's load costs during an outage with <c>UseRedis</c>'s defaults once the breaker is open, against a healthy
/// load of the same 4 KB session on the same redis-server (baseline). The open circuit is <see cref="CircuitBreaker.Isolate"/>d,
/// so it stays open for the whole run (an opened circuit probes after its break); the rejection takes the same path. Both go
/// through <see cref="StateSession.LoadAsync"/>, so the rejected one includes throwing and catching
/// <see cref="SessionStoreRejectedException"/>, as an application pays it.
/// </summary>
[MemoryDiagnoser]
public class OutageBenchmarks
{
    private BenchRedis _redis = null!;
    private ServiceProvider _healthyProvider = null!;
    private ServiceProvider _openProvider = null!;
    private ISessionStore _healthy = null!;
    private ISessionStore _open = null!;
    private string _healthyTicket = null!;
    private string _openTicket = null!;

    [GlobalSetup]
    public void Setup()
    {
        _redis = BenchRedis.Start();
        (_healthyProvider, _healthy, _healthyTicket) = Create("healthy");
        (_openProvider, _open, _openTicket) = Create("open");
        ((ResilientSessionStore)_open).CircuitBreaker.Isolate();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _healthyProvider.Dispose();
        _openProvider.Dispose();
        _redis.Dispose();
    }

    [Benchmark(Baseline = true)]
    public async Task<int> HealthyLoad()
    {
        var session = _healthy.Open(_healthyTicket);
        await session.LoadAsync();
        return session.Keys.Count;
    }

    [Benchmark]
    public async Task<int> OpenCircuitLoad()
    {
        try
        {
            await _open.Open(_openTicket).LoadAsync();
            return 0;
        }
        catch (SessionStoreRejectedException e)
        {
            return (int)e.Reason;
        }
    }

    private (ServiceProvider Provider, ISessionStore Store, string Ticket) Create(string name)
    {
        var services = new ServiceCollection();
        services.AddStateKit(kit => kit.UseRedis(_redis.Configuration, o => o.KeyPrefix = "outage-bench:" + name + ":"));
        var provider = services.BuildServiceProvider();
        var store = provider.GetRequiredService<ISessionStore>();
        var session = store.Open(null);
        session.SetBytes("payload", new byte[4096]);
        session.CommitAsync().AsTask().GetAwaiter().GetResult();
        return (provider, store, session.Ticket!);
    }
}
