using System;
using System.Linq;
using System.Threading.Tasks;
using StackExchange.Redis;
using StateKit.Redis.Tests.Servers;
using StateKit.Redis.Testing;
using StateKit.Testing;
using Xunit.Abstractions;

namespace StateKit.Redis.Tests;

/// <summary>
/// <see cref="RedisSessionStoreOptions.RequireReplicaAcks"/> on a Redis Cluster whose slot map changes under the client: the
/// replicas asked to confirm a write must be those of the node that applied it. A client's slot map is stale after a
/// reshard or a failover until a <c>MOVED</c> teaches it; a write redirected to the new owner, confirmed by a <c>WAIT</c>
/// asked of the old one, would be reported durable while nothing holds a copy.
/// </summary>
public sealed class RedisClusterReplicaAckTests(RedisReplicatedClusterFixture cluster, ITestOutputHelper output) : IClassFixture<RedisReplicatedClusterFixture>
{
    [ClusterFact]
    public async Task Commit_SlotMovedUnderTheClient_IsConfirmedOnlyByTheReplicasOfTheNodeThatAppliedIt()
    {
        var prefix = RedisFixture.UniquePrefix("cluster-ack-moved");
        var options = FailoverScenario.Options(cluster.Configuration, prefix);
        options.ReplicaAckTimeout = TimeSpan.FromMilliseconds(300);
        await using var store = new RedisSessionStore(options);

        var (session, key) = await CreateAsync(store, prefix);

        // The slot moves to another master whose replica is frozen: that master can apply a write, but nothing can copy it.
        var source = await cluster.MasterOfAsync(key);
        var target = await OtherMasterAsync(source);
        var targetReplica = await cluster.ReplicaOfAsync(target);
        await cluster.MoveSlotAsync(key, target);
        output.WriteLine($"slot of {key} moved {source.Endpoint} -> {target.Endpoint}; replica {targetReplica.Endpoint} frozen");

        targetReplica.Freeze();
        try
        {
            session.Set("n", 3, ContractJsonContext.Default.Int32);
            var error = await Assert.ThrowsAsync<ReplicaAcknowledgementException>(async () => await session.CommitAsync());
            output.WriteLine(error.Message);

            // The write reached the new owner (the store sent the pair again where the MOVED pointed) and none of its
            // replicas confirmed it. Before the fix, the old owner's replica answered the WAIT: reported durable.
            Assert.Equal(0, error.Acknowledged);
            var onTarget = await cluster.Admin.GetServer(target.Endpoint).ExecuteAsync("HGET", key, "d:n");
            Assert.Equal("3", (string?)onTarget);
        }
        finally
        {
            targetReplica.Thaw();
        }
    }

    [ClusterFact]
    public async Task Commit_SlotMovedUnderTheClient_GoesToTheNewOwnerAndIsOnItsReplica()
    {
        var prefix = RedisFixture.UniquePrefix("cluster-ack-resharded");
        var options = FailoverScenario.Options(cluster.Configuration, prefix);
        await using var store = new RedisSessionStore(options);
        var (session, key) = await CreateAsync(store, prefix);

        var source = await cluster.MasterOfAsync(key);
        var target = await OtherMasterAsync(source);
        await cluster.MoveSlotAsync(key, target);

        // The client still names the old owner: its MOVED sends the write, and the WAIT with it, to the new one.
        session.Set("n", 3, ContractJsonContext.Default.Int32);
        var result = await session.CommitAsync();

        Assert.Equal(SessionCommitOutcome.Committed, result.Outcome);
        var replica = await cluster.ReplicaOfAsync(target);
        var onReplica = await cluster.Admin.GetServer(replica.Endpoint).ExecuteAsync("HGET", key, "d:n");
        Assert.Equal("3", (string?)onReplica);
    }

    /// <summary>Creates a session and changes it once while the slot map is right: the client knows the slot's owner, and the scripts are loaded.</summary>
    private static async Task<(StateSession Session, RedisKey Key)> CreateAsync(RedisSessionStore store, string prefix)
    {
        var session = store.Open(null);
        session.Set("n", 1, ContractJsonContext.Default.Int32);
        await session.CommitAsync();
        session.Set("n", 2, ContractJsonContext.Default.Int32);
        await session.CommitAsync();
        return (session, $"{prefix}s:{{{session.Ticket}}}");
    }

    private async Task<TestServer> OtherMasterAsync(TestServer master)
    {
        foreach (var node in cluster.Nodes.Where(n => n != master && n.ProcessId is not null))
        {
            var role = (RedisResult[])(await cluster.Admin.GetServer(node.Endpoint).ExecuteAsync("ROLE"))!;
            if ((string?)role[0] == "master")
            {
                return node;
            }
        }

        throw new InvalidOperationException($"No master other than {master.Endpoint}.");
    }
}
