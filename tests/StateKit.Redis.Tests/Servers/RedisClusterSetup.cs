using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Threading.Tasks;
using StackExchange.Redis;

using StateKit.Redis.Testing;

namespace StateKit.Redis.Tests.Servers;

/// <summary>
/// Builds a Redis Cluster from real redis-server processes (<c>redis-cli --cluster create</c>) and reads its state back
/// (<c>CLUSTER NODES</c>, <c>CLUSTER INFO</c>, <c>INFO replication</c>), for the cluster fixtures. Every wait polls a real
/// state with a cap that fails as a timeout naming what was last seen.
/// </summary>
internal static class RedisClusterSetup
{
    /// <summary>The arguments of every cluster node; the fixtures add their own (node timeout, replication).</summary>
    public static readonly string[] NodeArgs = ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"];

    /// <summary>Starts <paramref name="count"/> cluster nodes into <paramref name="nodes"/>, one by one, so a failure leaves every started one there to dispose.</summary>
    public static async Task StartNodesAsync(List<TestServer> nodes, int count, string[] extraArgs)
    {
        for (var i = 0; i < count; i++)
        {
            nodes.Add(await TestServer.StartRedisAsync([.. NodeArgs, .. extraArgs]));
        }
    }

    /// <summary>Runs <c>redis-cli --cluster create</c> over <paramref name="nodes"/> and waits for <c>cluster_state:ok</c> on each.</summary>
    public static async Task CreateAsync(IReadOnlyList<TestServer> nodes, int replicasPerMaster, TimeSpan cap)
    {
        var create = new ProcessStartInfo(RedisServerAvailability.RedisCliPath!) { RedirectStandardOutput = true, RedirectStandardError = true };
        create.ArgumentList.Add("--cluster");
        create.ArgumentList.Add("create");
        foreach (var node in nodes)
        {
            create.ArgumentList.Add(node.Endpoint);
        }

        if (replicasPerMaster > 0)
        {
            create.ArgumentList.Add("--cluster-replicas");
            create.ArgumentList.Add(replicasPerMaster.ToString(CultureInfo.InvariantCulture));
        }

        create.ArgumentList.Add("--cluster-yes");
        using (var process = Process.Start(create)!)
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"redis-cli --cluster create failed ({process.ExitCode}): {await output} {await error}");
            }
        }

        await using var probe = await ConnectAdminAsync(nodes);
        await WaitUntilAsync(
            cap,
            "cluster_state:ok on every node",
            async () =>
            {
                var states = await Task.WhenAll(nodes.Select(n => probe.GetServer(n.Endpoint).ExecuteAsync("CLUSTER", "INFO")));
                var ok = states.All(s => s.ToString().Contains("cluster_state:ok", StringComparison.Ordinal));
                return (ok, string.Join(" | ", states.Select(s => s.ToString().Split('\n')[0].Trim())));
            });
    }

    public static string Configuration(IEnumerable<TestServer> nodes) => string.Join(",", nodes.Select(n => n.Endpoint)) + ",abortConnect=false";

    /// <summary>A connection to every node with admin commands (CLUSTER, INFO), which ignores the nodes it cannot reach.</summary>
    public static async Task<ConnectionMultiplexer> ConnectAdminAsync(IEnumerable<TestServer> nodes)
        => await ConnectionMultiplexer.ConnectAsync(Configuration(nodes) + ",allowAdmin=true,connectTimeout=2000,asyncTimeout=2000");

    /// <summary>Reads <c>CLUSTER NODES</c> from <paramref name="node"/>: what that node believes about every node.</summary>
    public static async Task<IReadOnlyList<ClusterNodeState>> NodesAsync(IConnectionMultiplexer admin, TestServer node)
    {
        var text = (string?)await admin.GetServer(node.Endpoint).ExecuteAsync("CLUSTER", "NODES") ?? string.Empty;
        return [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(ClusterNodeState.Parse)];
    }

    /// <summary>Polls <paramref name="check"/> every 50 ms until it holds, or fails after <paramref name="cap"/> with its last detail.</summary>
    public static async Task<TimeSpan> WaitUntilAsync(TimeSpan cap, string what, Func<Task<(bool Done, string Detail)>> check)
    {
        var started = Stopwatch.GetTimestamp();
        var detail = "(not checked yet)";
        while (Stopwatch.GetElapsedTime(started) < cap)
        {
            try
            {
                bool done;
                (done, detail) = await check();
                if (done)
                {
                    return Stopwatch.GetElapsedTime(started);
                }
            }
            catch (Exception e) when (e is RedisException or RedisTimeoutException)
            {
                // A node is starting, dead, being reconnected to, or too busy to answer in time (a timeout is not a
                // RedisException): the state is not there yet.
                detail = e.Message;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50), TimeProvider.System);
        }

        throw new TimeoutException($"Timed out after {cap.TotalSeconds:F0} s waiting for {what}; last seen: {detail}");
    }
}
