using System;
using System.Collections.Generic;
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

        await RedisClusterSetup.StartNodesAsync(_nodes, 3, ["--cluster-node-timeout", "5000"]);
        await RedisClusterSetup.CreateAsync(_nodes, replicasPerMaster: 0, TimeSpan.FromSeconds(15));
        var configuration = RedisClusterSetup.Configuration(_nodes);
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
