using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Threading.Tasks;
using StateKit.Caching;
using StateKit.DependencyInjection;
using StateKit.Redis;
using StateKit.Redis.Testing;
using StateKit.Sticky;
using Xunit.Abstractions;

namespace StateKit.Yarp.Tests;

/// <summary>
/// Real HTTP through a real YARP gateway to real app nodes on loopback. The backup store is chosen by the subclass:
/// a Redis-backed run is one more subclass overriding <see cref="Backup"/>.
/// </summary>
public abstract class StateKitAffinityTests(ITestOutputHelper output)
{
    /// <summary>Registers the backup store on a node (the named store "backup"); every node of one cluster must share it.</summary>
    protected abstract Action<StateKitBuilder> Backup();

    /// <summary>Makes the invalidation bus of each node of one cluster: every node of a cluster must hear every other.</summary>
    protected abstract Func<ISessionInvalidationBus> Bus();

    /// <summary>Gets a value indicating whether the backup keeps a user index, which "sign out everywhere" across nodes needs.</summary>
    protected virtual bool BackupRevokesByUser => true;

    [Fact]
    public async Task Revoke_OnANodeThatDoesNotOwnTheSession_OwnerServesItNoMore()
    {
        await using var cluster = await LoopbackCluster.StartAsync(3, Backup(), bus: Bus());
        using var victim = cluster.NewUser();
        var owner = "";
        for (var i = 0; i < 3; i++)
        {
            owner = (await AddAsync(victim)).Node;
        }

        var ticket = victim.Cookie(cluster);
        var sessionId = ticket.Split('.')[3];
        var other = cluster.NodeIds.First(n => n != owner);
        await cluster.BusLiveAsync();
        using var heard = cluster.WhenHeard(owner, m => m.SessionId == sessionId, out var delivered);

        // An admin (or the victim's sign-out) on another node revokes the session; a thief holds the ticket.
        Assert.True(await cluster.Store(other).RevokeAsync(sessionId));
        // Waits for the owner to handle the message; the cap only turns a lost message into a clear failure.
        await delivered.WaitAsync(TimeSpan.FromSeconds(30));
        using var thief = cluster.NewUser();
        thief.SetCookie(cluster, ticket);

        Assert.Equal(owner + ":0", await CountAsync(thief));
        Assert.Equal((owner, 1), await AddAsync(victim));
    }

    [Fact]
    public async Task SignOutEverywhere_WithSessionsOnAllThreeNodes_EndsEveryOne()
    {
        await using var cluster = await LoopbackCluster.StartAsync(3, Backup(), bus: Bus());
        if (!BackupRevokesByUser)
        {
            // Other nodes' copies in such a backup cannot be found by user, and a node would take them over: not claimed.
            Assert.False(cluster.Store(cluster.NodeIds.First()).Capabilities.Revocation.HasFlag(RevocationSupport.ByUser));
            return;
        }

        var devices = new Dictionary<string, HttpClient>();
        for (var attempt = 0; devices.Count < 3 && attempt < 30; attempt++)
        {
            var device = cluster.NewUser();
            using var response = await device.PostAsync(new Uri("/signin/alice", UriKind.Relative), null);
            var node = (await response.Content.ReadAsStringAsync()).Trim('"').Split(':')[0];
            if (!devices.TryAdd(node, device))
            {
                device.Dispose();
            }
        }

        Assert.Equal(3, devices.Count);
        using var bystander = cluster.NewUser();
        await AddAsync(bystander);
        var stolen = devices.ToDictionary(d => d.Key, d => d.Value.Cookie(cluster));
        await cluster.BusLiveAsync();
        var listeners = new List<IDisposable>();
        var deliveries = new List<Task>();
        foreach (var node in cluster.NodeIds)
        {
            listeners.Add(cluster.WhenHeard(node, m => m.SessionId?.StartsWith("probe-", StringComparison.Ordinal) != true, out var delivered));
            deliveries.Add(delivered);
        }

        // "Sign out everywhere" lands on one node; the other two hold sessions of the same user.
        using var admin = cluster.NewUser();
        using (var response = await admin.PostAsync(new Uri("/signout-everywhere/alice", UriKind.Relative), null))
        {
            response.EnsureSuccessStatusCode();
        }

        await Task.WhenAll(deliveries).WaitAsync(TimeSpan.FromSeconds(30));
        listeners.ForEach(l => l.Dispose());

        foreach (var (node, device) in devices)
        {
            Assert.Equal(node + ":0", await CountAsync(device));
            using var thief = cluster.NewUser();
            thief.SetCookie(cluster, stolen[node]);
            Assert.Equal(node + ":0", await CountAsync(thief));
            device.Dispose();
        }

        // Another user's session is untouched.
        Assert.Equal(2, (await AddAsync(bystander)).Count);
    }

    [Fact]
    public async Task Affinity_100RequestsOfEachOfManyUsers_AllReachTheSameNode()
    {
        await using var cluster = await LoopbackCluster.StartAsync(3, Backup());
        var users = Enumerable.Range(0, 12).Select(_ => cluster.NewUser()).ToList();

        var nodes = await Task.WhenAll(users.Select(async user =>
        {
            var seen = new HashSet<string>();
            for (var i = 1; i <= 100; i++)
            {
                var (node, count) = await AddAsync(user);
                Assert.Equal(i, count);
                seen.Add(node);
            }

            return Assert.Single(seen);
        }));

        // Round robin spreads new users over every node; affinity then keeps each where it started.
        Assert.Equal(3, nodes.Distinct().Count());
        users.ForEach(u => u.Dispose());
    }

    [Fact]
    public async Task ForgedOrTamperedTicket_RoutesNowhereSpecialAndLoadsNoSession()
    {
        await using var cluster = await LoopbackCluster.StartAsync(3, Backup());
        using var victim = cluster.NewUser();
        for (var i = 0; i < 5; i++)
        {
            await AddAsync(victim);
        }

        var ticket = victim.Cookie(cluster);
        Assert.True(StickyTicket.TryReadNodeId(ticket, [LoopbackCluster.Key], out var home));
        var other = cluster.NodeIds.First(n => n != home);
        var forged = new[]
        {
            ticket.Replace("." + home + ".", "." + other + ".", StringComparison.Ordinal),      // choose another node
            ticket[..^4] + (ticket[^4..] == "AAAA" ? "BBBB" : "AAAA"),                         // break the MAC
            SignedWithAnotherKey($"s1.k1.{home}.AAAAAAAAAAAAAAAAAAAAAA.{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}"),  // mint a ticket without the key
        };

        foreach (var bad in forged)
        {
            var reached = new HashSet<string>();
            for (var i = 0; i < 6; i++)
            {
                using var attacker = cluster.NewUser();
                attacker.SetCookie(cluster, bad);
                var (node, count) = await AddAsync(attacker);
                Assert.Equal(1, count);
                reached.Add(node);
            }

            Assert.True(reached.Count > 1, $"a forged ticket pinned requests to {string.Join(",", reached)}");
        }

        Assert.Equal(6, (await AddAsync(victim)).Count);
    }

    [Fact]
    public async Task GracefulStop_WithBackup_LosesNoSession()
    {
        await using var cluster = await LoopbackCluster.StartAsync(3, Backup());
        var users = await WarmUpAsync(cluster, 30, 5);
        var victim = users.First().Node;

        await cluster.StopGracefullyAsync(victim);
        var (lost, moved) = await CheckAsync(users, victim, expectedCount: 6);

        output.WriteLine($"graceful stop of {victim}: {moved} sessions moved, {lost} lost");
        Assert.True(moved > 0);
        Assert.Equal(0, lost);
    }

    [Fact]
    public async Task AbruptKill_WithBackup_LosesAtMostTheQueuedWrites()
    {
        await using var cluster = await LoopbackCluster.StartAsync(3, Backup());
        var users = await WarmUpAsync(cluster, 30, 5);
        var victim = users.First().Node;
        var queued = cluster.Store(victim).BackupQueueLength;

        await cluster.KillAsync(victim);
        var (lost, moved) = await CheckAsync(users, victim, expectedCount: 6);

        output.WriteLine($"abrupt kill of {victim}: {moved} sessions moved, {lost} lost a write, {queued} writes were queued at the kill");
        Assert.True(moved > 0);
        Assert.True(lost <= queued, $"{lost} sessions lost writes but only {queued} were queued");
    }

    [Fact]
    public async Task Return503Policy_NodeGone_Returns503InsteadOfMoving()
    {
        await using var cluster = await LoopbackCluster.StartAsync(2, Backup(), failurePolicy: "Return503Error");
        using var user = cluster.NewUser();
        var (node, _) = await AddAsync(user);

        await cluster.StopGracefullyAsync(node);

        using var response = await user.PostAsync(new Uri("/add", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
    }

    private static string SignedWithAnotherKey(string body)
        => body + "." + System.Buffers.Text.Base64Url.EncodeToString(System.Security.Cryptography.HMACSHA256.HashData(new byte[32], System.Text.Encoding.ASCII.GetBytes(body)));

    internal static async Task<string> CountAsync(HttpClient user)
    {
        using var response = await user.GetAsync(new Uri("/count", UriKind.Relative));
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadAsStringAsync()).Trim('"');
    }

    internal static async Task<(string Node, int Count)> AddAsync(HttpClient user)
    {
        using var response = await user.PostAsync(new Uri("/add", UriKind.Relative), null);
        response.EnsureSuccessStatusCode();
        var text = (await response.Content.ReadAsStringAsync()).Trim('"');
        var parts = text.Split(':');
        return (parts[0], int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
    }

    internal static async Task<List<(HttpClient User, string Node)>> WarmUpAsync(LoopbackCluster cluster, int users, int adds)
    {
        var result = new List<(HttpClient, string)>();
        for (var u = 0; u < users; u++)
        {
            var user = cluster.NewUser();
            var node = "";
            for (var i = 0; i < adds; i++)
            {
                node = (await AddAsync(user)).Node;
            }

            result.Add((user, node));
        }

        return result;
    }

    /// <summary>One more add for every user: those of the stopped node move; a session lost anything when its count is short.</summary>
    internal static async Task<(int Lost, int Moved)> CheckAsync(List<(HttpClient User, string Node)> users, string victim, int expectedCount)
    {
        var lost = 0;
        var moved = 0;
        foreach (var (user, node) in users)
        {
            var (now, count) = await AddAsync(user);
            if (node == victim)
            {
                Assert.NotEqual(victim, now);
                moved++;
                lost += count < expectedCount ? 1 : 0;
            }
            else
            {
                // The other nodes' users are untouched, whatever happened to the victim.
                Assert.Equal(node, now);
                Assert.Equal(expectedCount, count);
            }

            user.Dispose();
        }

        return (lost, moved);
    }
}

/// <summary>The backup is the core's distributed-cache store over one in-process cache shared by every node: a real store.</summary>
public sealed class StateKitAffinityWithDistributedCacheBackupTests(ITestOutputHelper output) : StateKitAffinityTests(output)
{
    protected override Action<StateKitBuilder> Backup() => Backups.SharedDistributedCache();

    protected override bool BackupRevokesByUser => false;

    protected override Func<ISessionInvalidationBus> Bus()
    {
        // Nodes in one process: one in-process bus delivers to every node's store, before the publisher returns.
        var shared = new InMemorySessionInvalidationBus();
        return () => shared;
    }
}

/// <summary>Without a backup: a node's sessions die with it, and only its own users are affected.</summary>
public sealed class StateKitAffinityWithoutBackupTests(ITestOutputHelper output)
{
    [Fact]
    public async Task GracefulStop_WithoutBackup_LosesEverySessionOfThatNodeOnly()
    {
        await using var cluster = await LoopbackCluster.StartAsync(3, backup: null);
        var users = await StateKitAffinityTests.WarmUpAsync(cluster, 30, 5);
        var victim = users.First().Node;
        var victimUsers = users.Count(u => u.Node == victim);

        await cluster.StopGracefullyAsync(victim);
        var (lost, moved) = await StateKitAffinityTests.CheckAsync(users, victim, expectedCount: 6);

        output.WriteLine($"graceful stop of {victim} without backup: {moved} sessions moved, {lost} lost");
        Assert.Equal(victimUsers, moved);
        Assert.Equal(victimUsers, lost);
    }
}

internal static class CookieExtensions
{
    public static string Cookie(this HttpClient user, LoopbackCluster cluster)
        => Handler(user).CookieContainer.GetCookies(cluster.GatewayAddress)["statekit"]!.Value;

    public static void SetCookie(this HttpClient user, LoopbackCluster cluster, string value)
        => Handler(user).CookieContainer.Add(cluster.GatewayAddress, new Cookie("statekit", value));

    private static HttpClientHandler Handler(HttpClient user)
        => (HttpClientHandler)typeof(HttpMessageInvoker).GetField("_handler", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(user)!;
}

/// <summary>The backup is the Redis store on a real server of this class's own (redis-server; Garnet where it is missing, unless CI requires the real one).</summary>
public sealed class StateKitAffinityWithRedisBackupTests(ITestOutputHelper output, RedisFixture redis) : StateKitAffinityTests(output), IClassFixture<RedisFixture>
{
    protected override Action<StateKitBuilder> Backup()
    {
        // One prefix per cluster: the nodes share it, other tests never see it.
        var prefix = RedisFixture.UniquePrefix("sticky-backup");
        return backup => backup.UseRedis(redis.Configuration, o => o.KeyPrefix = prefix).WithCircuitBreaker(b => b.Timeout = RedisFixture.PatientCallTimeout);
    }

    protected override Func<ISessionInvalidationBus> Bus()
    {
        // Each node has a bus of its own; messages go through the Redis server's pub/sub.
        var prefix = RedisFixture.UniquePrefix("sticky-bus");
        return () => new RedisSessionInvalidationBus(redis.Redis, prefix);
    }
}
