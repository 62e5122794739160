using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using StateKit.Benchmarks.Infrastructure;
using StateKit.Redis;

namespace StateKit.Benchmarks;

/// <summary>
/// What sessions per user (issue 18) cost on a real redis-server. <c>SignIn</c>: each operation creates one session and
/// ends one; the baseline is an anonymous session, against one bound to a user (the user index), and one bound under
/// <c>MaxSessionsPerUser</c> at the limit, where the sign-in itself signs the least recently active out. <c>AccountPage</c>:
/// one listing page of a user's 20 sessions against the load of one session, the request it sits beside.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class UserSessionBenchmarks
{
    private static readonly Dictionary<string, ReadOnlyMemory<byte>> Cart = new(StringComparer.Ordinal) { ["cart"] = new byte[256] };

    private BenchRedis _redis = null!;
    private RedisSessionStore _store = null!;
    private RedisSessionStore _limited = null!;
    private string _loaded = null!;

    [GlobalSetup]
    public void Setup()
    {
        _redis = BenchRedis.Start();
        _store = new RedisSessionStore(_redis.Redis, new RedisSessionStoreOptions { KeyPrefix = "bench:" });
        _limited = new RedisSessionStore(_redis.Redis, new RedisSessionStoreOptions { KeyPrefix = "limited:", MaxSessionsPerUser = 5 });
        for (var i = 0; i < 20; i++)
        {
            _loaded = CommitAsync(_store, "listed").AsTask().GetAwaiter().GetResult();
        }

        for (var i = 0; i < 5; i++)
        {
            CommitAsync(_limited, "full").AsTask().GetAwaiter().GetResult();
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _redis.Dispose();

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("SignIn")]
    public async Task<bool> Anonymous_CreateThenRevoke() => await _store.RevokeAsync(await CommitAsync(_store, null));

    [Benchmark]
    [BenchmarkCategory("SignIn")]
    public async Task<bool> Bound_CreateThenRevoke() => await _store.RevokeAsync(await CommitAsync(_store, "ana"));

    [Benchmark]
    [BenchmarkCategory("SignIn")]
    public async Task<string> AtTheLimit_SignInSignsTheLeastRecentlyActiveOut() => await CommitAsync(_limited, "full");

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("AccountPage")]
    public async Task<bool> LoadOneSession() => await _store.LoadAsync(_loaded) is not null;

    [Benchmark]
    [BenchmarkCategory("AccountPage")]
    public async Task<int> ListAPageOf20() => (await _store.ListUserSessionsAsync("listed", null, 20)).Sessions.Count;

    private static async ValueTask<string> CommitAsync(RedisSessionStore store, string? userId)
    {
        var result = await store.CommitAsync(new SessionCommit { Upserts = Cart, BindUserId = userId });
        return result.Ticket!;
    }
}
