using StateKit.Redis.Tests.Servers;
using StateKit.Redis.Testing;
using StateKit.Testing;

namespace StateKit.Redis.Tests;

/// <summary>The shared contract suite against a standalone server (redis-server, or Garnet where it is missing).</summary>
public sealed class RedisSessionStoreContractTests(RedisFixture redis) : SessionStoreContract, IClassFixture<RedisFixture>
{
    protected override ISessionStore CreateStore() => new RedisSessionStore(
        redis.Redis,
        new RedisSessionStoreOptions
        {
            IdleTimeout = IdleTimeout,
            AbsoluteLifetime = AbsoluteLifetime,
            MaxPayloadBytes = MaxPayloadBytes,
            KeyPrefix = RedisFixture.UniquePrefix("contract"),
        },
        Time);
}
