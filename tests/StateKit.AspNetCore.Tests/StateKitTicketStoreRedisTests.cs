using System;
using StateKit.Redis;
using StateKit.Redis.Testing;

namespace StateKit.AspNetCore.Tests;

/// <summary>The ticket store on a real Redis server.</summary>
public sealed class StateKitTicketStoreRedisTests(RedisFixture redis) : StateKitTicketStoreContract, IClassFixture<RedisFixture>
{
    protected override ISessionStore CreateStore(TimeProvider time) => new RedisSessionStore(
        redis.Redis,
        new RedisSessionStoreOptions { IdleTimeout = IdleTimeout, AbsoluteLifetime = AbsoluteLifetime, KeyPrefix = RedisFixture.UniquePrefix("tickets") },
        time);
}
