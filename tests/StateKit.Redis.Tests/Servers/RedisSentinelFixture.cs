using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Threading.Tasks;
using StackExchange.Redis;

using StateKit.Redis.Testing;

namespace StateKit.Redis.Tests.Servers;

/// <summary>
/// A primary, one replica and three sentinels (<c>redis-server sentinel.conf --sentinel</c>, quorum 2), all real processes
/// on loopback ports, for one test class that kills the primary (<c>kill -9</c>) and watches the sentinels promote the
/// replica. <c>down-after-milliseconds</c> is 1 s, so a failover takes about 2-3 s. Debian's redis-server package is
/// enough: the sentinel is the same binary. Starts nothing where redis-server is missing (see <see cref="ReplicaFactAttribute"/>)
/// unless a real server is required.
/// </summary>
public sealed class RedisSentinelFixture : IAsyncLifetime
{
    public const string ServiceName = "statekit";

    private static readonly TimeSpan Cap = TimeSpan.FromSeconds(30);
    private const string AdminOptions = ",allowAdmin=true,abortConnect=false,connectTimeout=2000,asyncTimeout=2000";
    private static readonly string[] DataArgs = ["--repl-diskless-sync-delay", "0"];
    private readonly List<TestServer> _sentinels = [];
    private readonly List<TestServer> _data = [];
    private ConnectionMultiplexer? _admin;
    private ConnectionMultiplexer? _sentinelAdmin;

    /// <summary>Gets the primary the sentinels were first told to monitor.</summary>
    public TestServer Primary => _data.Count > 0 ? _data[0] : throw new InvalidOperationException(RedisServerAvailability.MissingMessage);

    /// <summary>Gets the replica it started with.</summary>
    public TestServer Replica => _data.Count > 1 ? _data[1] : throw new InvalidOperationException(RedisServerAvailability.MissingMessage);

    public IReadOnlyList<TestServer> Sentinels => _sentinels;

    /// <summary>Gets a StackExchange.Redis configuration string that connects through the sentinels (<c>serviceName=...</c>).</summary>
    public string Configuration => string.Join(",", _sentinels.Select(s => s.Endpoint)) + $",serviceName={ServiceName},abortConnect=false";

    /// <summary>Gets an admin connection to the data nodes it started with, not following failovers (INFO).</summary>
    public IConnectionMultiplexer Admin => _admin ?? throw new InvalidOperationException(RedisServerAvailability.MissingMessage);

    /// <summary>Gets a plain connection to the sentinels, for <c>SENTINEL ...</c> commands.</summary>
    public IConnectionMultiplexer SentinelAdmin => _sentinelAdmin ?? throw new InvalidOperationException(RedisServerAvailability.MissingMessage);

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

        _data.Add(await TestServer.StartRedisAsync(DataArgs));
        await StartReplicaAsync(Primary);
        var config = string.Join(
            "\n",
            $"sentinel monitor {ServiceName} 127.0.0.1 {Primary.Port.ToString(CultureInfo.InvariantCulture)} 2",
            $"sentinel down-after-milliseconds {ServiceName} 1000",
            $"sentinel failover-timeout {ServiceName} 3000",
            string.Empty);
        for (var i = 0; i < 3; i++)
        {
            _sentinels.Add(await TestServer.StartRedisAsync(["--sentinel"], config));
        }

        _admin = await ConnectionMultiplexer.ConnectAsync(string.Join(",", _data.Select(s => s.Endpoint)) + AdminOptions);
        // Sentinels answer only their own command set (no ECHO in the handshake): SentinelConnect knows it.
        _sentinelAdmin = await ConnectionMultiplexer.SentinelConnectAsync(string.Join(",", _sentinels.Select(s => s.Endpoint)) + AdminOptions);

        // Sentinels find each other through hello messages on the primary, every 2 s: a failover needs the quorum to know
        // one another, and the replica in sync, before any test kills the primary.
        await RedisClusterSetup.WaitUntilAsync(Cap, "3 sentinels that see each other, the primary and its replica", async () =>
        {
            foreach (var sentinel in _sentinels)
            {
                var fields = (await SentinelAdmin.GetServer(sentinel.Endpoint).SentinelMasterAsync(ServiceName)).ToDictionary(f => f.Key, f => f.Value, StringComparer.Ordinal);
                if (fields["num-other-sentinels"] != "2" || fields["num-slaves"] != "1" || fields["flags"] != "master")
                {
                    return (false, $"{sentinel.Endpoint}: flags {fields["flags"]}, {fields["num-slaves"]} replicas, {fields["num-other-sentinels"]} other sentinels");
                }
            }

            return (true, "ready");
        });
        await WaitForLinkAsync(Replica);
    }

    /// <summary>
    /// Waits until every sentinel names <paramref name="replica"/> as the primary of the service and it reports
    /// <c>role:master</c>.
    /// </summary>
    public Task<TimeSpan> WaitForPromotionAsync(TestServer replica) => RedisClusterSetup.WaitUntilAsync(
        Cap,
        $"the sentinels to promote {replica.Endpoint}",
        async () =>
        {
            foreach (var sentinel in _sentinels)
            {
                var named = await SentinelAdmin.GetServer(sentinel.Endpoint).SentinelGetMasterAddressByNameAsync(ServiceName);
                if ((named as IPEndPoint)?.Port != replica.Port)
                {
                    return (false, $"{sentinel.Endpoint} names {named}");
                }
            }

            var info = (string?)await Admin.GetServer(replica.Endpoint).ExecuteAsync("INFO", "replication") ?? string.Empty;
            return (info.Contains("role:master", StringComparison.Ordinal), $"{replica.Endpoint}: {info.Split('\n')[1].Trim()}");
        });

    /// <summary>
    /// Starts a fresh replica of <paramref name="primary"/>, as an orchestrator replaces a lost node, and waits until it is
    /// in sync: the primary then has a replica to acknowledge writes again.
    /// </summary>
    public async Task<TimeSpan> StartReplicaAsync(TestServer primary)
    {
        var replica = await TestServer.StartRedisAsync([.. DataArgs, "--replicaof", "127.0.0.1", primary.Port.ToString(CultureInfo.InvariantCulture)]);
        _data.Add(replica);
        return _admin is null ? TimeSpan.Zero : await WaitForLinkAsync(replica);
    }

    public async Task DisposeAsync()
    {
        if (_admin is not null)
        {
            await _admin.DisposeAsync();
        }

        if (_sentinelAdmin is not null)
        {
            await _sentinelAdmin.DisposeAsync();
        }

        foreach (var server in _sentinels.Concat(_data))
        {
            await server.DisposeAsync();
        }
    }

    private static async Task<TimeSpan> WaitForLinkAsync(TestServer replica)
    {
        // A server started after the admin connection is not one of its endpoints: ask it directly.
        await using var direct = await ConnectionMultiplexer.ConnectAsync(replica.Endpoint + AdminOptions);
        return await RedisClusterSetup.WaitUntilAsync(Cap, $"{replica.Endpoint} to report master_link_status:up", async () =>
        {
            var info = (string?)await direct.GetServer(replica.Endpoint).ExecuteAsync("INFO", "replication") ?? string.Empty;
            return (info.Contains("master_link_status:up", StringComparison.Ordinal), info.Replace("\r\n", " ", StringComparison.Ordinal));
        });
    }
}
