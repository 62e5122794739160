#if STATEKIT_REDIS_SERVER
using System.Threading.Tasks;
using StateKit.Redis.Tests.Servers;
using StateKit.Redis.Testing;
using StateKit.Testing;

namespace StateKit.Redis.Tests;

/// <summary>
/// Issue 18: the listing contract on a 3-master Redis Cluster, where a user's index and each of its sessions live in
/// different slots. Compiled only where the build found redis-server (see <see cref="RedisClusterContractTests"/>).
/// </summary>
[Collection(RedisClusterGroup.Name)]
public sealed class RedisClusterUserSessionListerTests(RedisClusterFixture cluster) : UserSessionListerContract
{
    private readonly string _prefix = RedisFixture.UniquePrefix("cluster-lister");

    protected override ISessionStore CreateStore() => new RedisSessionStore(
        cluster.Redis,
        new RedisSessionStoreOptions { IdleTimeout = IdleTimeout, AbsoluteLifetime = AbsoluteLifetime, KeyPrefix = _prefix },
        Time);

    protected override async Task<int> IndexedCountAsync(string userId)
        => (int)await cluster.Redis.GetDatabase().SetLengthAsync(new RedisKeys(_prefix).User(userId));
}
#endif
