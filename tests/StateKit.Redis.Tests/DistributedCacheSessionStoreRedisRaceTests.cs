using System.Threading.Tasks;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using StateKit.Redis.Testing;
using StateKit.Tests.Distributed;

namespace StateKit.Redis.Tests;

/// <summary>The races of <see cref="DistributedCacheRaceContract"/> over ASP.NET Core's own <see cref="RedisCache"/>.</summary>
public sealed class DistributedCacheSessionStoreRedisRaceTests(RedisFixture redis) : DistributedCacheRaceContract, IClassFixture<RedisFixture>
{
    protected override IDistributedCache CreateBackend() => new RealClockDistributedCache(
        new RedisCache(new RedisCacheOptions
        {
            // A prefix of its own per test, on the fixture's shared multiplexer (never disposed here: that would close it).
            InstanceName = RedisFixture.UniquePrefix("distributed-race"),
            ConnectionMultiplexerFactory = () => Task.FromResult(redis.Redis),
        }),
        Time);
}
