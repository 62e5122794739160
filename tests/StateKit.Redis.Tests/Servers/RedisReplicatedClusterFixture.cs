using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading.Tasks;
using StackExchange.Redis;

using StateKit.Redis.Testing;

namespace StateKit.Redis.Tests.Servers;

/// <summary>
/// A Redis Cluster of 3 masters, each with one replica, from real redis-server processes on loopback ports, for one test
/// class that kills a master (<c>kill -9</c>) and watches its replica take over. The node timeout is small (1 s) so a
/// failover takes about 2 s; <c>--repl-diskless-sync-delay 0</c> lets the first full sync finish at once (with the default
/// 5 s delay a master killed before it is never replaced: "Disconnected from master for longer than allowed").
/// Starts nothing where redis-server is missing (see <see cref="ClusterFactAttribute"/>) unless a real server is required.
/// </summary>
public sealed class RedisReplicatedClusterFixture : IAsyncLifetime
{
    public const int NodeTimeoutMilliseconds = 1000;

    private static readonly TimeSpan Cap = TimeSpan.FromSeconds(30);
    private readonly List<TestServer> _nodes = [];
    private ConnectionMultiplexer? _admin;

    /// <summary>Gets every node, masters and replicas, in start order.</summary>
    public IReadOnlyList<TestServer> Nodes => _nodes;

    /// <summary>Gets a configuration string naming every node, for a store's own multiplexer.</summary>
    public string Configuration => RedisClusterSetup.Configuration(_nodes);

    /// <summary>Gets an admin connection to every node (CLUSTER, INFO); it keeps working while a node is dead.</summary>
    public IConnectionMultiplexer Admin => _admin ?? throw new InvalidOperationException(RedisServerAvailability.MissingMessage);

    public async Task InitializeAsync()
    {
        if (!RedisServerAvailability.IsOnPath)
        {
            if (RedisServerAvailability.IsRequired)
            {
                throw new InvalidOperationException(RedisServerAvailability.MissingMessage);
            }

            return;
        }

        await RedisClusterSetup.StartNodesAsync(_nodes, 6, [
            "--cluster-node-timeout", NodeTimeoutMilliseconds.ToString(CultureInfo.InvariantCulture),
            "--repl-diskless-sync-delay", "0",
        ]);
        await RedisClusterSetup.CreateAsync(_nodes, replicasPerMaster: 1, Cap);
        _admin = await RedisClusterSetup.ConnectAdminAsync(_nodes);
        await WaitForReplicasAsync();
    }

    /// <summary>Gets the node that serves <paramref name="key"/>'s slot now, as the cluster (not a client's cache) sees it.</summary>
    public async Task<TestServer> MasterOfAsync(RedisKey key)
    {
        var slot = (long)await Admin.GetServer(Live().Endpoint).ExecuteAsync("CLUSTER", "KEYSLOT", (string)key!);
        var slots = (RedisResult[])(await Admin.GetServer(Live().Endpoint).ExecuteAsync("CLUSTER", "SLOTS"))!;
        foreach (var range in slots)
        {
            var parts = (RedisResult[])range!;
            if ((long)parts[0] <= slot && slot <= (long)parts[1])
            {
                var port = (int)(long)((RedisResult[])parts[2]!)[1];
                return _nodes.Single(n => n.Port == port);
            }
        }

        throw new InvalidOperationException($"No node serves slot {slot}.");
    }

    /// <summary>
    /// Moves <paramref name="key"/>'s slot, and the keys in it, to <paramref name="target"/>, as <c>redis-cli --cluster
    /// reshard</c> does (<c>IMPORTING</c>, <c>MIGRATING</c>, <c>MIGRATE</c>, then <c>SETSLOT NODE</c> on every master). A
    /// client that learned the slot map before keeps its old owner until a <c>MOVED</c> teaches it.
    /// </summary>
    public async Task MoveSlotAsync(RedisKey key, TestServer target)
    {
        var source = await MasterOfAsync(key);
        if (source == target)
        {
            return;
        }

        var slot = (long)await Admin.GetServer(source.Endpoint).ExecuteAsync("CLUSTER", "KEYSLOT", (string)key!);
        var sourceId = (string)(await Admin.GetServer(source.Endpoint).ExecuteAsync("CLUSTER", "MYID"))!;
        var targetId = (string)(await Admin.GetServer(target.Endpoint).ExecuteAsync("CLUSTER", "MYID"))!;
        await Admin.GetServer(target.Endpoint).ExecuteAsync("CLUSTER", "SETSLOT", slot, "IMPORTING", sourceId);
        await Admin.GetServer(source.Endpoint).ExecuteAsync("CLUSTER", "SETSLOT", slot, "MIGRATING", targetId);
        while (true)
        {
            var keys = (RedisResult[])(await Admin.GetServer(source.Endpoint).ExecuteAsync("CLUSTER", "GETKEYSINSLOT", slot, 100))!;
            if (keys.Length == 0)
            {
                break;
            }

            object[] migrate = ["127.0.0.1", target.Port, string.Empty, 0, 5000, "KEYS", .. keys.Select(k => (object)(string)k!)];
            await Admin.GetServer(source.Endpoint).ExecuteAsync("MIGRATE", migrate);
        }

        foreach (var master in new[] { target, source })
        {
            await Admin.GetServer(master.Endpoint).ExecuteAsync("CLUSTER", "SETSLOT", slot, "NODE", targetId);
        }

        // The other masters learn the new owner by gossip; telling them too makes the move whole at once.
        foreach (var node in _nodes.Where(n => n != target && n != source && n.ProcessId is not null))
        {
            var role = (RedisResult[])(await Admin.GetServer(node.Endpoint).ExecuteAsync("ROLE"))!;
            if ((string?)role[0] == "master")
            {
                await Admin.GetServer(node.Endpoint).ExecuteAsync("CLUSTER", "SETSLOT", slot, "NODE", targetId);
            }
        }
    }

    /// <summary>Gets the replica of <paramref name="master"/>, from the replicas' own <c>INFO replication</c>.</summary>
    public async Task<TestServer> ReplicaOfAsync(TestServer master)
    {
        foreach (var node in _nodes.Where(n => n != master && n.ProcessId is not null))
        {
            var info = (string?)await Admin.GetServer(node.Endpoint).ExecuteAsync("INFO", "replication") ?? string.Empty;
            if (info.Contains($"master_port:{master.Port.ToString(CultureInfo.InvariantCulture)}\r\n", StringComparison.Ordinal))
            {
                return node;
            }
        }

        throw new InvalidOperationException($"No node replicates {master.Endpoint}.");
    }

    /// <summary>
    /// Waits until every surviving node agrees that <paramref name="killed"/> has failed (<c>fail</c>, not only <c>fail?</c>:
    /// until then the old master still counts as one and a check for "every slot served" passes too early), sees
    /// <paramref name="replica"/> as a master serving slots, and reports <c>cluster_state:ok</c>.
    /// </summary>
    public Task<TimeSpan> WaitForPromotionAsync(TestServer killed, TestServer replica) => RedisClusterSetup.WaitUntilAsync(
        Cap,
        $"{replica.Endpoint} to replace the killed master {killed.Endpoint}",
        async () =>
        {
            foreach (var node in _nodes.Where(n => n != killed))
            {
                var view = await RedisClusterSetup.NodesAsync(Admin, node);
                var dead = view.Single(n => n.Port == killed.Port);
                var promoted = view.Single(n => n.Port == replica.Port);
                var state = (string?)await Admin.GetServer(node.Endpoint).ExecuteAsync("CLUSTER", "INFO") ?? string.Empty;
                if (!dead.IsFailed || !promoted.IsMaster || !promoted.HasSlots || !state.Contains("cluster_state:ok", StringComparison.Ordinal))
                {
                    return (false, $"{node.Endpoint} sees {killed.Endpoint} as [{string.Join(',', dead.Flags)}], {replica.Endpoint} as [{string.Join(',', promoted.Flags)}]{(promoted.HasSlots ? " with slots" : string.Empty)}, {state.Split('\n')[0].Trim()}");
                }
            }

            return (true, "promoted");
        });

    /// <summary>
    /// Starts a killed node again (same port, same directory and <c>nodes.conf</c>, empty data): it rejoins the cluster as a
    /// replica of the node that replaced it, which then has a replica to acknowledge writes again. Waits until it is in sync.
    /// </summary>
    public async Task<TimeSpan> RejoinAsync(TestServer killed)
    {
        await killed.RestartAsync();
        return await WaitForReplicasAsync();
    }

    public async Task DisposeAsync()
    {
        if (_admin is not null)
        {
            await _admin.DisposeAsync();
        }

        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }
    }

    private TestServer Live() => _nodes.First(n => n.ProcessId is not null);

    /// <summary>Waits until 3 of the running nodes are replicas whose link to their master is up (a full sync done).</summary>
    private Task<TimeSpan> WaitForReplicasAsync() => RedisClusterSetup.WaitUntilAsync(
        Cap,
        "3 replicas with master_link_status:up",
        async () =>
        {
            var infos = await Task.WhenAll(_nodes.Where(n => n.ProcessId is not null)
                .Select(async n => (string?)await Admin.GetServer(n.Endpoint).ExecuteAsync("INFO", "replication") ?? string.Empty));
            var linked = infos.Count(i => i.Contains("role:slave", StringComparison.Ordinal) && i.Contains("master_link_status:up", StringComparison.Ordinal));
            return (linked == 3, $"{linked} of 3 replicas linked");
        });
}
