using System;
using System.Collections.Generic;
using System.ComponentModel;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;
using StateKit.Benchmarks.Infrastructure;
using StateKit.Caching;
using StateKit.Memory;
using ZiggyCreatures.Caching.Fusion;

namespace StateKit.Benchmarks;

/// <summary>
/// An L1 hit on a 256 B session: <see cref="NearCacheSessionStore.LoadAsync"/> (with an invalidation bus, so no probe) vs
/// a raw <see cref="MemoryCache"/> hit (baseline), FusionCache's and HybridCache's. HybridCache deserializes a mutable type on
/// every hit (it must hand out a copy); an <c>[ImmutableObject(true)]</c> sealed type lets it return the cached instance, so
/// both rows are shown. Entries live for an hour so that no hit turns into a miss during the run.
/// </summary>
[MemoryDiagnoser]
public class NearCacheHitBenchmarks
{
    private const string Key = "session:1";
    private MemoryCache _memory = null!;
    private FusionCache _fusion = null!;
    private HybridCache _hybrid = null!;
    private ServiceProvider _services = null!;
    private NearCacheSessionStore _near = null!;
    private string _ticket = null!;

    [GlobalSetup]
    public async Task Setup()
    {
        var shape = new SessionShape(256);
        var inner = new InMemorySessionStore(new InMemorySessionStoreOptions { IdleTimeout = TimeSpan.FromHours(4), AbsoluteLifetime = TimeSpan.FromHours(8) });
        _near = new NearCacheSessionStore(inner, new NearCacheOptions { TimeToLive = TimeSpan.FromHours(1) }, new InMemorySessionInvalidationBus());
        var driver = new StateKitDriver(_near);
        await driver.SeedAsync(shape);
        _ticket = driver.Ticket;
        _ = await _near.LoadAsync(_ticket);
        if (_near.Count != 1)
        {
            throw new InvalidOperationException("The near cache did not keep the session.");
        }

        var session = MutableSession.From(shape);
        _memory = new MemoryCache(new MemoryCacheOptions());
        _memory.Set(Key, session, TimeSpan.FromHours(1));
        _fusion = new FusionCache(new FusionCacheOptions());
        _fusion.Set(Key, session, TimeSpan.FromHours(1));
        _services = new ServiceCollection().AddHybridCache().Services.BuildServiceProvider();
        _hybrid = _services.GetRequiredService<HybridCache>();
        var entry = new HybridCacheEntryOptions { Expiration = TimeSpan.FromHours(1), LocalCacheExpiration = TimeSpan.FromHours(1) };
        await _hybrid.SetAsync(Key, session, entry);
        await _hybrid.SetAsync(Key + ":immutable", ImmutableSession.From(shape), entry);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _memory.Dispose();
        _fusion.Dispose();
        _services.Dispose();
        _near.Dispose();
    }

    [Benchmark(Baseline = true)]
    public object? RawMemoryCache() => _memory.TryGetValue(Key, out var value) ? value : null;

    [Benchmark]
    public SessionSnapshot? StateKitNearCache()
    {
        var load = _near.LoadAsync(_ticket);
        return load.IsCompletedSuccessfully ? load.Result : load.AsTask().GetAwaiter().GetResult();
    }

    [Benchmark]
    public MutableSession? FusionCache() => _fusion.TryGet<MutableSession>(Key).GetValueOrDefault();

    [Benchmark]
    public MutableSession? HybridCache_MutableType()
    {
        var get = _hybrid.GetOrCreateAsync(Key, static _ => ValueTask.FromResult(new MutableSession()));
        return get.IsCompletedSuccessfully ? get.Result : get.AsTask().GetAwaiter().GetResult();
    }

    [Benchmark]
    public ImmutableSession? HybridCache_ImmutableType()
    {
        var get = _hybrid.GetOrCreateAsync(Key + ":immutable", static _ => ValueTask.FromResult(new ImmutableSession("x", 0, [])));
        return get.IsCompletedSuccessfully ? get.Result : get.AsTask().GetAwaiter().GetResult();
    }
}

/// <summary>The session as an app would cache it itself: id, version, values.</summary>
public sealed class MutableSession
{
    public string Id { get; set; } = "";

    public long Version { get; set; }

    public Dictionary<string, byte[]> Values { get; set; } = [];

    public static MutableSession From(SessionShape shape)
    {
        var session = new MutableSession { Id = "s1", Version = 1 };
        foreach (var (key, value) in shape.All())
        {
            session.Values[key] = value;
        }

        return session;
    }
}

/// <summary>The same, declared immutable so HybridCache may hand out the cached instance.</summary>
[ImmutableObject(true)]
public sealed record ImmutableSession(string Id, long Version, Dictionary<string, byte[]> Values)
{
    public static ImmutableSession From(SessionShape shape) => new("s1", 1, MutableSession.From(shape).Values);
}
