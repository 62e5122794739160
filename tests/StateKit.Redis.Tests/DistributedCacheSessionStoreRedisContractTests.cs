using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using StackExchange.Redis;
using StateKit.Distributed;
using StateKit.Redis.Testing;
using StateKit.Testing;
using StateKit.Tests.Distributed;

namespace StateKit.Redis.Tests;

/// <summary>
/// The shared contract for the distributed-cache store over ASP.NET Core's own <see cref="RedisCache"/>, on the standalone
/// server the other Redis tests use (redis-server, or Garnet where it is missing).
/// </summary>
public sealed class DistributedCacheSessionStoreRedisContractTests(RedisFixture redis) : SessionStoreContract, IClassFixture<RedisFixture>
{
    private readonly string _instance = RedisFixture.UniquePrefix("distributed");

    protected override ISessionStore CreateStore()
    {
        // The fixture's multiplexer, shared: the cache is never disposed here, since disposing it would close that connection.
        var cache = new RedisCache(new RedisCacheOptions
        {
            InstanceName = _instance,
            ConnectionMultiplexerFactory = () => Task.FromResult(redis.Redis),
        });
        return new DistributedCacheSessionStore(
            new RealClockDistributedCache(cache, Time),
            new DistributedCacheSessionStoreOptions
            {
                IdleTimeout = IdleTimeout,
                AbsoluteLifetime = AbsoluteLifetime,
                MaxPayloadBytes = MaxPayloadBytes,
            },
            Time);
    }

    /// <summary>
    /// Redis expires keys on its own clock, and RedisCache keeps each entry's absolute deadline (UTC ticks) in the hash:
    /// time passing shortens every TTL of this test's keys, deletes those it runs out, and moves the stored deadlines closer.
    /// </summary>
    protected override async Task AdvanceAsync(TimeSpan by)
    {
        await base.AdvanceAsync(by);
        var db = redis.Admin.GetDatabase();
        var keys = new List<RedisKey>();
        await foreach (var key in redis.Admin.GetServers()[0].KeysAsync(pattern: _instance + "*"))
        {
            keys.Add(key);
        }

        foreach (var key in keys)
        {
            var ttl = await db.KeyTimeToLiveAsync(key);
            if (ttl is { } left && left <= by)
            {
                await db.KeyDeleteAsync(key);
                continue;
            }

            if (ttl is { } remaining)
            {
                await db.KeyExpireAsync(key, remaining - by);
            }

            var absolute = (long?)await db.HashGetAsync(key, "absexp");
            if (absolute is { } ticks and not -1)
            {
                await db.HashSetAsync(key, "absexp", ticks - by.Ticks);
            }
        }
    }
}
