using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading.Tasks;
using StackExchange.Redis;

using StateKit.Redis.Testing;

namespace StateKit.Redis.Tests.Servers;

/// <summary>
/// A 3-master Redis Cluster of real redis-server processes on loopback ports, built with
/// <c>redis-cli --cluster create</c>. Starts nothing where redis-server is missing (the tests then report themselves
/// skipped, see <see cref="ClusterFactAttribute"/>) unless a real server is required, which fails the run.
/// </summary>
public sealed class RedisClusterFixture : IAsyncLifetime
{
    private readonly List<TestServer> _nodes = [];
    private ConnectionMultiplexer? _redis;

    public IConnectionMultiplexer Redis => _redis ?? throw new InvalidOperationException(RedisServerAvailability.MissingMessage);

    public IReadOnlyList<TestServer> Nodes => _nodes;

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

        for (var i = 0; i < 3; i++)
        {
            _nodes.Add(await TestServer.StartRedisAsync(["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000"]));
        }

        var create = new ProcessStartInfo(RedisServerAvailability.RedisCliPath!) { RedirectStandardOutput = true, RedirectStandardError = true };
        create.ArgumentList.Add("--cluster");
        create.ArgumentList.Add("create");
        foreach (var node in _nodes)
        {
            create.ArgumentList.Add(node.Endpoint);
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

        var configuration = string.Join(",", _nodes.Select(n => n.Endpoint)) + ",abortConnect=false";
        var deadline = Stopwatch.GetTimestamp() + (15 * Stopwatch.Frequency);
        while (true)
        {
            using var probe = await ConnectionMultiplexer.ConnectAsync(configuration + ",allowAdmin=true");
            var states = await Task.WhenAll(_nodes.Select(n => probe.GetServer(n.Endpoint).ExecuteAsync("CLUSTER", "INFO")));
            if (states.All(s => s.ToString().Contains("cluster_state:ok", StringComparison.Ordinal)))
            {
                break;
            }

            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new InvalidOperationException("The Redis Cluster did not reach cluster_state:ok within 15 s.");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), TimeProvider.System);
        }

        _redis = await ConnectionMultiplexer.ConnectAsync(configuration);
    }

    public async Task DisposeAsync()
    {
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }

        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }
    }
}
