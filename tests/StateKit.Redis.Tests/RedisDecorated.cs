using System;
using StackExchange.Redis;
using StateKit.Caching;
using StateKit.Redis.Testing;
using StateKit.Resilience;

namespace StateKit.Redis.Tests;

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
