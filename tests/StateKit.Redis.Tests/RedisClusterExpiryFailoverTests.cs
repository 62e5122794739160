using System;
using System.Threading.Tasks;
using StackExchange.Redis;
using StateKit.Events;
using StateKit.Redis.Tests.Servers;
using StateKit.Redis.Testing;
using Xunit.Abstractions;

namespace StateKit.Redis.Tests;

/// <summary>
/// Expiry events after a Redis Cluster failover: the replica that takes over a killed master's slots must be listened to,
/// or every session that expires there goes unreported. Keyspace notifications stay on the node that expired the key.
/// </summary>
public sealed class RedisClusterExpiryFailoverTests(RedisReplicatedClusterFixture cluster, ITestOutputHelper output) : IClassFixture<RedisReplicatedClusterFixture>
{
    [ClusterFact]
    public async Task MasterKilled_TheReplicaThatTakesOverIsListenedTo_ItsExpiriesAreReported()
    {
        foreach (var server in cluster.Nodes)
        {
            await cluster.Admin.GetServer(server.Endpoint).ExecuteAsync("CONFIG", "SET", "notify-keyspace-events", "Ex");
        }

        var prefix = RedisFixture.UniquePrefix("cluster-expiry-failover");
        await using var node = await RedisEventNode.StartAsync(
            RedisClusterSetup.Configuration(cluster.Nodes) + ",connectTimeout=1000", prefix, "redis", TimeProvider.System);
        Assert.True(await node.Raw.ListeningForExpiry);

        var first = (await RedisEventNode.CreateAsync(node.Store, 1))[0];
        var victim = await cluster.MasterOfAsync(Key(prefix, first));
        var replica = await cluster.ReplicaOfAsync(victim);
        await victim.KillAsync();
        var promotion = await cluster.WaitForPromotionAsync(victim, replica);
        output.WriteLine($"{victim.Endpoint} killed; {replica.Endpoint} took over after {promotion.TotalMilliseconds:F0} ms");

        // A session whose slot the promoted replica now serves; commits can fail while the client learns the new map.
        string? onPromoted = null;
        for (var attempt = 0; onPromoted is null; attempt++)
        {
            Assert.True(attempt < 300, "no session landed on the promoted replica in 300 attempts");
            try
            {
                var id = (await RedisEventNode.CreateAsync(node.Store, 1))[0];
                if (await cluster.MasterOfAsync(Key(prefix, id)) == replica)
                {
                    onPromoted = id;
                }
            }
            catch (SessionStoreUnavailableException e)
            {
                output.WriteLine($"create failed while the map settles: {e.Message}");
            }
        }

        // The store learns of the promotion from its multiplexer (a failed connection, a moved slot, a changed role) and has
        // it reconfigure, which subscribes the new primary; an expiry there before that would be seen only on load.
        var listener = node.Raw.ExpiryListener!;
        var covered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        listener.CoverageChanged = () =>
        {
            if (listener.Covers(replica.Endpoint))
            {
                covered.TrySetResult();
            }
        };
        if (listener.Covers(replica.Endpoint))
        {
            covered.TrySetResult();
        }

        await covered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await RedisEventNode.ExpireAllAsync(prefix, [onPromoted], cluster.Admin, node);
        await node.StopAsync();
        Assert.Contains(node.Recorder.Events, e => e.Kind == SessionEventKinds.Expired && e.PublicId == SessionIds.ToPublicId(onPromoted));
    }

    private static RedisKey Key(string prefix, string id) => $"{prefix}s:{{{id}}}";
}
