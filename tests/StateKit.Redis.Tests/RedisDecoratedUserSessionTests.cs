using System;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using StateKit.Caching;
using StateKit.DependencyInjection;
using StateKit.Redis.Testing;
using StateKit.Resilience;
using StateKit.Testing;

namespace StateKit.Redis.Tests;

/// <summary>Issue 18: the listing contract on redis-server through a near cache over a circuit breaker, as apps stack them.</summary>
public sealed class RedisDecoratedUserSessionListerTests(RedisFixture redis) : UserSessionListerContract, IClassFixture<RedisFixture>, IDisposable
{
    private readonly string _prefix = RedisFixture.UniquePrefix("decorated-lister");

    public void Dispose() => (Store as IDisposable)?.Dispose();

    protected override ISessionStore CreateStore() => RedisDecorated.Create(
        redis.Redis,
        new RedisSessionStoreOptions { IdleTimeout = IdleTimeout, AbsoluteLifetime = AbsoluteLifetime, KeyPrefix = _prefix },
        Time);

    protected override async Task<int> IndexedCountAsync(string userId)
        => (int)await redis.Redis.GetDatabase().SetLengthAsync(new RedisKeys(_prefix).User(userId));
}

/// <summary>Issue 18: both limit policies on redis-server through a near cache over a circuit breaker.</summary>
public sealed class RedisDecoratedUserSessionLimitTests(RedisFixture redis) : UserSessionLimitContract, IClassFixture<RedisFixture>
{
    protected override ISessionStore CreateStore(UserSessionLimitPolicy policy) => RedisDecorated.Create(
        redis.Redis,
        new RedisSessionStoreOptions
        {
            IdleTimeout = IdleTimeout,
            KeyPrefix = RedisFixture.UniquePrefix("decorated-limit"),
            MaxSessionsPerUser = Limit,
            SessionLimitPolicy = policy,
        },
        Time);
}

/// <summary>Issue 18: what <c>AddStateKit</c> registers for Redis with a near cache and a breaker lists and ends sessions.</summary>
public sealed class RedisDecoratedRegistrationTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    [Fact]
    public async Task AddStateKit_RedisWithNearCacheAndCircuitBreaker_TheRegisteredStoreListsAndEndsASessionItHasCached()
    {
        var prefix = RedisFixture.UniquePrefix("decorated-di");
        var services = new ServiceCollection();
        services.AddSingleton<IConnectionMultiplexer>(redis.Redis);
        services.AddSingleton<ISessionInvalidationBus>(_ => new RedisSessionInvalidationBus(redis.Redis, prefix));
        services.AddStateKit(kit => kit
            .UseRedis(o => o.KeyPrefix = prefix)
            .WithNearCache()
            .WithCircuitBreaker(o => o.Timeout = RedisFixture.PatientCallTimeout));
        await using var provider = services.BuildServiceProvider();
        var ticket = await RegisteredListerChecks.ListsAndEndsASessionItHasCachedAsync(provider.GetRequiredService<ISessionStore>());

        Assert.False(await redis.Redis.GetDatabase().KeyExistsAsync(new RedisKeys(prefix).Session(ticket)));
    }
}

/// <summary>The stack an app builds with <c>UseRedis(...).WithNearCache()</c>: near cache, breaker, Redis.</summary>
internal static class RedisDecorated
{
    public static NearCacheSessionStore Create(IConnectionMultiplexer redis, RedisSessionStoreOptions options, TimeProvider time)
    {
        var breaker = new ResilientSessionStore(
            new RedisSessionStore(redis, options, time),
            new ResilienceOptions { Name = "decorated", Timeout = RedisFixture.PatientCallTimeout },
            timeProvider: time);
        return new NearCacheSessionStore(breaker, new NearCacheOptions(), new InMemorySessionInvalidationBus(), null, time);
    }
}
