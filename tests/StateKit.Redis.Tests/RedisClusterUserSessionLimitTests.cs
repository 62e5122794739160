#if STATEKIT_REDIS_SERVER
using System;
using System.Threading.Tasks;
using StateKit.Redis.Tests.Servers;
using StateKit.Redis.Testing;
using StateKit.Testing;

namespace StateKit.Redis.Tests;

/// <summary>Issue 18: MaxSessionsPerUser is not enforced on Redis Cluster yet, and says so with a typed error that names the fix.</summary>
[Collection(RedisClusterGroup.Name)]
public sealed class RedisClusterUserSessionLimitTests(RedisClusterFixture cluster)
{
    [Fact]
    public async Task Limit_OnRedisCluster_FailsWithNotSupportedNamingTheFix_NotAsAnOutage()
    {
        var store = new RedisSessionStore(
            cluster.Redis,
            new RedisSessionStoreOptions { KeyPrefix = RedisFixture.UniquePrefix("cluster-limit"), MaxSessionsPerUser = 5 });

        var error = await Assert.ThrowsAsync<NotSupportedException>(async () =>
        {
            // The first sign-in's script touches only the user's slot; the ones after it name sessions in other slots.
            for (var i = 0; i < 3; i++)
            {
                var session = store.Open(null);
                session.Set("n", i, ContractJsonContext.Default.Int32);
                session.BindUser("ana");
                await session.CommitAsync();
            }
        });

        Assert.Contains("Set MaxSessionsPerUser to 0 on a cluster", error.Message, StringComparison.Ordinal);
    }
}
#endif
