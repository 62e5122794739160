using System;
using System.Threading.Tasks;
using StateKit.Redis.Testing;
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
