using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using StateKit.Redis.Tests.Servers;
using StateKit.Redis.Testing;
using Xunit.Abstractions;

namespace StateKit.Redis.Tests;

/// <summary>
/// Issue 14: a Redis Cluster master dies (<c>kill -9</c>) under load, its replica takes over, and the store, which
/// waits for one replica on every write (<see cref="RedisSessionStoreOptions.RequireReplicaAcks"/> = 1), loses no
/// acknowledged commit, fails typed in between, and recovers on its own. Measured figures go to docs/redis.md.
/// </summary>
public sealed class RedisClusterFailoverTests(RedisReplicatedClusterFixture cluster, ITestOutputHelper output) : IClassFixture<RedisReplicatedClusterFixture>
{
    [ClusterFact]
    public async Task MasterKilled_UnderLoad_ReplicaTakesOverAndNoAcknowledgedCommitIsLost()
    {
        var prefix = RedisFixture.UniquePrefix("cluster-failover");
        await using var store = new RedisSessionStore(FailoverScenario.Options(cluster.Configuration, prefix));
        await using var load = new FailoverLoad(store, loops: 4, sessionsPerLoop: 6);
        await load.StartAsync();

        // The victim is the master of one session; the sessions in its slots are the ones the failover touches.
        var masters = new Dictionary<string, TestServer>(StringComparer.Ordinal);
        foreach (var ticket in load.Tickets)
        {
            masters[ticket] = await cluster.MasterOfAsync($"{prefix}s:{{{ticket}}}");
        }

        var victim = masters[load.Tickets.First()];
        var replica = await cluster.ReplicaOfAsync(victim);
        var onVictim = masters.Where(m => m.Value == victim).Select(m => m.Key).ToHashSet(StringComparer.Ordinal);

        var scenario = new FailoverScenario(load, onVictim, output);
        await scenario.WarmUpAsync();
        await scenario.KillAsync(victim.KillAsync);
        var promotion = await cluster.WaitForPromotionAsync(victim, replica);
        scenario.Promoted(promotion);

        // The promoted replica has no replica of its own: a write it takes cannot be acknowledged (typed failures) until
        // the dead node comes back, as an orchestrator would restart it, and rejoins as its replica.
        await scenario.WaitForLoadsAsync();
        await scenario.AssertNoAcknowledgementWithoutReplicaAsync(store);
        var rejoin = await cluster.RejoinAsync(victim);
        scenario.Rejoined(rejoin);
        await scenario.WaitForCommitsAsync();
        await load.StopAsync();

        await scenario.AssertAsync(store, $"Redis Cluster, 3 masters + 3 replicas, cluster-node-timeout {RedisReplicatedClusterFixture.NodeTimeoutMilliseconds} ms");
    }
}
