using StateKit.Redis.Testing;
using StateKit.Testing;

namespace StateKit.Redis.Tests;

/// <summary>Issue 18: MaxSessionsPerUser on a standalone redis-server, where one script over the index and the sessions enforces it.</summary>
public sealed class RedisUserSessionLimitTests(RedisFixture redis) : UserSessionLimitContract, IClassFixture<RedisFixture>
{
    protected override ISessionStore CreateStore(UserSessionLimitPolicy policy) => new RedisSessionStore(
        redis.Redis,
        new RedisSessionStoreOptions
        {
            IdleTimeout = IdleTimeout,
            KeyPrefix = RedisFixture.UniquePrefix("limit"),
            MaxSessionsPerUser = Limit,
            SessionLimitPolicy = policy,
        },
        Time);
}
