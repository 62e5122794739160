using System.Threading.Tasks;
using StateKit.Redis.Testing;
using StateKit.Testing;

namespace StateKit.Redis.Tests;

/// <summary>Issue 18: the listing contract on a standalone redis-server.</summary>
public sealed class RedisUserSessionListerTests(RedisFixture redis) : UserSessionListerContract, IClassFixture<RedisFixture>
{
    private readonly string _prefix = RedisFixture.UniquePrefix("lister");

    protected override ISessionStore CreateStore() => new RedisSessionStore(
        redis.Redis,
        new RedisSessionStoreOptions { IdleTimeout = IdleTimeout, AbsoluteLifetime = AbsoluteLifetime, KeyPrefix = _prefix },
        Time);

    protected override async Task<int> IndexedCountAsync(string userId)
        => (int)await redis.Redis.GetDatabase().SetLengthAsync(new RedisKeys(_prefix).User(userId));

    [Fact]
    public Task List_TenThousandSessionsOfOneUser_ComeInPagesOfAtMostTheMaxPageSize_AndAllAreListed()
        => AssertPagesThroughManySessionsAsync("many", 10_000, parallel: 100);
}
