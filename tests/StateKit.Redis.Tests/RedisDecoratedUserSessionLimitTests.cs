using StateKit.Redis.Testing;
using StateKit.Testing;

namespace StateKit.Redis.Tests;

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
