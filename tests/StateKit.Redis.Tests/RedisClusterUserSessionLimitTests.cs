#if STATEKIT_REDIS_SERVER
using System.Threading.Tasks;
using StateKit.Redis.Tests.Servers;
using StateKit.Redis.Testing;
using StateKit.Testing;

namespace StateKit.Redis.Tests;

/// <summary>
/// Issue 18: MaxSessionsPerUser on the 3-master Redis Cluster, where a user's index and its sessions live in different
/// slots: the whole limit contract (20 parallel sign-ins, limit 5, both policies, rotation) with the decision made by a
/// script over the user's slot alone.
/// </summary>
[Collection(RedisClusterGroup.Name)]
public sealed class RedisClusterUserSessionLimitTests(RedisClusterFixture cluster) : UserSessionLimitContract
{
    protected override ISessionStore CreateStore(UserSessionLimitPolicy policy) => new RedisSessionStore(
        cluster.Redis,
        new RedisSessionStoreOptions
        {
            IdleTimeout = IdleTimeout,
            KeyPrefix = RedisFixture.UniquePrefix("cluster-limit"),
            MaxSessionsPerUser = Limit,
            SessionLimitPolicy = policy,
        },
        Time);

    [Fact]
    public async Task Cluster_RefusesTheOneScriptCheck_AndTheStoreSwitchesToTheUserSlotDecision()
    {
        // What makes this class a test of the cross-slot path: with more than one session indexed, the one-script check
        // names keys of several slots, which the cluster refuses; the store must notice and carry on.
        var store = (RedisSessionStore)CreateStore(UserSessionLimitPolicy.RefuseNewSession);
        for (var i = 0; i < 3; i++)
        {
            var session = store.Open(null);
            session.Set("n", i, ContractJsonContext.Default.Int32);
            session.BindUser("ana");
            Assert.Equal(SessionCommitOutcome.Committed, (await session.CommitAsync()).Outcome);
        }

        Assert.True(store.UserLimitSpansSlots);
        Assert.Equal(3, (await store.ListUserSessionsAsync("ana")).Sessions.Count);
    }
}
#endif
