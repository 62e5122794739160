using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using StackExchange.Redis;
using StateKit.Events;
using StateKit.Redis.Tests.Servers;
using StateKit.Redis.Testing;
using Xunit.Abstractions;

namespace StateKit.Redis.Tests;

/// <summary>
/// Expiry events on a 3-master Redis Cluster. Keyspace notifications stay on the node that expired the key (Redis does
/// not broadcast them as it does other pub/sub), so the store must listen on every master, and must read (or, told to,
/// set) <c>notify-keyspace-events</c> on each of them.
/// </summary>
public sealed class RedisClusterExpiryEventsTests(RedisClusterFixture cluster, ITestOutputHelper output) : IClassFixture<RedisClusterFixture>
{
    [ClusterFact]
    public async Task ExpiryNotifications_OnEveryMaster_EveryMastersExpiriesAreReported()
    {
        await SetNotificationsAsync("Ex");
        var prefix = RedisFixture.UniquePrefix("cluster-expiry");
        await using var node = await RedisEventNode.StartAsync(RedisClusterSetup.Configuration(cluster.Nodes), prefix, "redis", TimeProvider.System);
        Assert.True(await node.Raw.ListeningForExpiry);

        var ids = await CreateOnEveryMasterAsync(node.Store, prefix, perMaster: 3);
        await RedisEventNode.ExpireAllAsync(prefix, ids, cluster.Redis, node);

        await node.StopAsync();
        var expired = node.Recorder.Events.Where(e => e.Kind == SessionEventKinds.Expired).Select(e => e.PublicId).Order().ToArray();
        Assert.Equal(ids.Select(SessionIds.ToPublicId).Order(), expired);
    }

    [ClusterFact]
    public async Task ExpiryNotificationsEnable_OffOnEveryMaster_TurnsThemOnOnEachAndReportsEveryMastersExpiries()
    {
        await SetNotificationsAsync(string.Empty);
        var prefix = RedisFixture.UniquePrefix("cluster-expiry-enable");
        await using var node = await RedisEventNode.StartAsync(
            RedisClusterSetup.Configuration(cluster.Nodes), prefix, "redis", TimeProvider.System, o => o.ExpiryNotifications = RedisExpiryNotifications.Enable);

        Assert.True(await node.Raw.ListeningForExpiry);
        await using var admin = await RedisClusterSetup.ConnectAdminAsync(cluster.Nodes);
        foreach (var server in cluster.Nodes)
        {
            var flags = await NotificationsAsync(admin, server);
            output.WriteLine($"{server.Endpoint}: notify-keyspace-events '{flags}'");
            Assert.True(RedisExpiryListener.SendsExpiredEvents(flags), $"{server.Endpoint} has '{flags}'");
        }

        var ids = await CreateOnEveryMasterAsync(node.Store, prefix, perMaster: 1);
        await RedisEventNode.ExpireAllAsync(prefix, ids, cluster.Redis, node);
    }

    private static async Task<string> NotificationsAsync(ConnectionMultiplexer admin, TestServer server)
    {
        var reply = (RedisResult[])(await admin.GetServer(server.Endpoint).ExecuteAsync("CONFIG", "GET", "notify-keyspace-events"))!;
        return (string?)reply[1] ?? string.Empty;
    }

    private async Task SetNotificationsAsync(string flags)
    {
        await using var admin = await RedisClusterSetup.ConnectAdminAsync(cluster.Nodes);
        foreach (var server in cluster.Nodes)
        {
            await admin.GetServer(server.Endpoint).ExecuteAsync("CONFIG", "SET", "notify-keyspace-events", flags);
        }
    }

    /// <summary>Creates sessions until each master holds <paramref name="perMaster"/> of them, and returns every id created.</summary>
    private async Task<string[]> CreateOnEveryMasterAsync(ISessionStore store, string prefix, int perMaster)
    {
        var held = new Dictionary<string, int>(StringComparer.Ordinal);
        var ids = new List<string>();
        while (held.Count < cluster.Nodes.Count || held.Values.Any(n => n < perMaster))
        {
            Assert.True(ids.Count < 200, $"200 sessions did not reach every master: {string.Join(", ", held.Select(h => $"{h.Key} {h.Value}"))}");
            var created = await RedisEventNode.CreateAsync(store, 1);
            ids.Add(created[0]);
            var owner = cluster.Redis.GetServer((RedisKey)$"{prefix}s:{{{created[0]}}}").EndPoint.ToString()!;
            held[owner] = held.GetValueOrDefault(owner) + 1;
        }

        output.WriteLine($"{ids.Count} sessions: {string.Join(", ", held.Select(h => $"{h.Key} holds {h.Value}"))}");
        return [.. ids];
    }
}
