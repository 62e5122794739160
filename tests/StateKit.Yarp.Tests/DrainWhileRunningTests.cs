using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using StateKit.Caching;
using StateKit.DependencyInjection;
using StateKit.Redis;
using StateKit.Redis.Testing;
using StateKit.Sticky;
using Xunit.Abstractions;

namespace StateKit.Yarp.Tests;

/// <summary>
/// One of three nodes is drained while the host keeps running and users keep clicking: its sessions move to the
/// backup, the gateway stops sending it users once it says it is drained, and no acknowledged write is lost.
/// </summary>
public abstract class DrainWhileRunningTests(ITestOutputHelper output)
{
    private const int Users = 30;
    private const int Workers = 6;
    private const int Rounds = 8;

    /// <summary>Registers the backup store on a node (the named store "backup"); every node of one cluster must share it.</summary>
    protected abstract Action<StateKitBuilder> Backup();

    /// <summary>Makes the invalidation bus of each node of one cluster.</summary>
    protected abstract Func<ISessionInvalidationBus> Bus();

    [Fact]
    public async Task Drain_OneOfThreeNodesUnderLoad_LosesNoAcknowledgedWriteAndNewSessionsLandElsewhere()
    {
        await using var cluster = await LoopbackCluster.StartAsync(3, Backup(), bus: Bus());
        var users = await StateKitAffinityTests.WarmUpAsync(cluster, Users, 3);
        var acked = users.Select(_ => 3).ToArray();
        var victim = users[0].Node;
        var victimUsers = users.Count(u => u.Node == victim);
        using var probe = await UserOnAsync(cluster, victim);
        using var operatorClient = new HttpClient { BaseAddress = cluster.NodeAddress(victim) };
        Assert.Equal(HttpStatusCode.OK, await ReadinessAsync(operatorClient));

        // Workers click in bounded loops, each for its own users, one request per user at a time; the drain starts once
        // every worker is under way, and they go on through it and after it.
        var errors = new ConcurrentQueue<string>();
        var underWay = 0;
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var load = Enumerable.Range(0, Workers).Select(w => Task.Run(async () =>
        {
            for (var round = 0; round < Rounds; round++)
            {
                for (var u = w; u < Users; u += Workers)
                {
                    try
                    {
                        acked[u] = (await StateKitAffinityTests.AddAsync(users[u].User)).Count;
                    }
                    catch (HttpRequestException e)
                    {
                        errors.Enqueue($"user {u}: {e.Message}");
                    }
                }

                if (round == 0 && Interlocked.Increment(ref underWay) == Workers)
                {
                    started.TrySetResult();
                }
            }
        })).ToList();
        await started.Task.WaitAsync(TimeSpan.FromSeconds(60));

        var watch = Stopwatch.StartNew();
        using var response = await operatorClient.PostAsync(new Uri("/statekit/drain", UriKind.Relative), null);
        var elapsed = watch.Elapsed;
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var drain = JsonDocument.Parse(body);
        var moved = drain.RootElement.GetProperty("moved").GetInt32();
        Assert.Equal("Drained", drain.RootElement.GetProperty("state").GetString());
        Assert.Equal(0, drain.RootElement.GetProperty("failed").GetInt32());
        Assert.Equal(0, drain.RootElement.GetProperty("remaining").GetInt32());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, await ReadinessAsync(operatorClient));

        // The probe's ticket still names the victim: unless a worker's request has taught the gateway already, it goes there
        // once more, and the victim answers through the backup and says it is drained (the gateway keeps the header to
        // itself). From then on, the victim gets no one.
        using (var probed = await probe.PostAsync(new Uri("/add", UriKind.Relative), null))
        {
            Assert.False(probed.Headers.Contains(StickySessionStore.DrainingHeaderName));
            Assert.EndsWith(":2", (await probed.Content.ReadAsStringAsync()).Trim('"'), StringComparison.Ordinal);
        }

        var newcomers = new List<string>();
        for (var i = 0; i < 12; i++)
        {
            using var newcomer = cluster.NewUser();
            newcomers.Add((await StateKitAffinityTests.AddAsync(newcomer)).Node);
        }

        await Task.WhenAll(load);

        // Every acknowledged add is in the final count, wherever the user ended up; the victim's users all moved.
        var lost = 0;
        var movedUsers = 0;
        for (var u = 0; u < Users; u++)
        {
            var final = await StateKitAffinityTests.CountAsync(users[u].User);
            var (node, count) = (final.Split(':')[0], int.Parse(final.Split(':')[1], System.Globalization.CultureInfo.InvariantCulture));
            lost += count < acked[u] ? 1 : 0;
            if (users[u].Node == victim)
            {
                Assert.NotEqual(victim, node);
                movedUsers++;
            }

            users[u].User.Dispose();
        }

        var (probeNode, probeCount) = await StateKitAffinityTests.AddAsync(probe);
        output.WriteLine(
            $"drain of {victim} under load ({Workers} workers, {Users} users, {Rounds} rounds): {moved} sessions moved in {elapsed.TotalMilliseconds:F0} ms " +
            $"(endpoint call), {victimUsers} of its users moved on, {lost} sessions lost a write, {errors.Count} failed requests; new sessions on: {string.Join(",", newcomers)}");
        foreach (var error in errors.Take(5))
        {
            output.WriteLine(error);
        }

        Assert.Equal(0, lost);
        Assert.Empty(errors);
        Assert.True(moved >= victimUsers, $"{moved} sessions moved, but the victim had {victimUsers} users");
        Assert.Equal(victimUsers, movedUsers);
        Assert.DoesNotContain(victim, newcomers);
        Assert.NotEqual(victim, probeNode);
        Assert.Equal(3, probeCount);
        Assert.Equal(0, cluster.Store(victim).Count);
    }

    private static async Task<HttpStatusCode> ReadinessAsync(HttpClient node)
    {
        using var response = await node.GetAsync(new Uri("/health/ready", UriKind.Relative));
        return response.StatusCode;
    }

    // A user whose session lives on the given node: new users are dealt round robin, so a few tries find one.
    private static async Task<HttpClient> UserOnAsync(LoopbackCluster cluster, string node)
    {
        for (var attempt = 0; attempt < 30; attempt++)
        {
            var user = cluster.NewUser();
            if ((await StateKitAffinityTests.AddAsync(user)).Node == node)
            {
                return user;
            }

            user.Dispose();
        }

        throw new InvalidOperationException($"no new user landed on {node}");
    }
}

/// <summary>The backup is the core's distributed-cache store over one in-process cache shared by every node.</summary>
public sealed class DrainWhileRunningWithDistributedCacheBackupTests(ITestOutputHelper output) : DrainWhileRunningTests(output)
{
    protected override Action<StateKitBuilder> Backup() => Backups.SharedDistributedCache();

    protected override Func<ISessionInvalidationBus> Bus()
    {
        var shared = new InMemorySessionInvalidationBus();
        return () => shared;
    }
}

/// <summary>The backup is the Redis store on a real redis-server of this class's own.</summary>
public sealed class DrainWhileRunningWithRedisBackupTests(ITestOutputHelper output, RedisFixture redis) : DrainWhileRunningTests(output), IClassFixture<RedisFixture>
{
    protected override Action<StateKitBuilder> Backup()
    {
        var prefix = RedisFixture.UniquePrefix("sticky-drain");
        return backup => backup.UseRedis(redis.Configuration, o => o.KeyPrefix = prefix).WithCircuitBreaker(b => b.Timeout = RedisFixture.PatientCallTimeout);
    }

    protected override Func<ISessionInvalidationBus> Bus()
    {
        var prefix = RedisFixture.UniquePrefix("sticky-drain-bus");
        return () => new RedisSessionInvalidationBus(redis.Redis, prefix);
    }
}
