using System;
using System.Diagnostics;
using System.Globalization;
using System.Threading.Tasks;
using StackExchange.Redis;

using StateKit.Redis.Testing;

namespace StateKit.Redis.Tests.Servers;

/// <summary>
/// A real primary and one replica (<c>redis-server --replicaof</c>) on loopback ports, for one test class. Starts nothing
/// where redis-server is missing (the tests then skip, see <see cref="ReplicaFactAttribute"/>) unless it is required.
/// </summary>
public sealed class RedisReplicaFixture : IAsyncLifetime
{
    private TestServer? _primary;
    private TestServer? _replica;
    private ConnectionMultiplexer? _admin;

    public TestServer Primary => _primary ?? throw new InvalidOperationException(RedisServerAvailability.MissingMessage);

    public TestServer Replica => _replica ?? throw new InvalidOperationException(RedisServerAvailability.MissingMessage);

    /// <summary>Gets an admin connection to both servers (INFO, CLIENT PAUSE, reads from the replica).</summary>
    public IConnectionMultiplexer Admin => _admin ?? throw new InvalidOperationException(RedisServerAvailability.MissingMessage);

    /// <summary>Gets a configuration string naming only the primary, for a store's own multiplexer.</summary>
    public string PrimaryConfiguration => $"{Primary.Endpoint},abortConnect=false";

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

        _primary = await TestServer.StartRedisAsync([]);
        _replica = await TestServer.StartRedisAsync(["--replicaof", "127.0.0.1", _primary.Port.ToString(CultureInfo.InvariantCulture)]);
        _admin = await ConnectionMultiplexer.ConnectAsync($"{_primary.Endpoint},{_replica.Endpoint},allowAdmin=true,abortConnect=false");
        await WaitForLinkAsync();
    }

    /// <summary>Restarts the replica if a test killed it, and waits until it is in sync again.</summary>
    public async Task EnsureReplicaUpAsync()
    {
        if (Replica.ProcessId is null)
        {
            await Replica.RestartAsync();
        }

        await WaitForLinkAsync();
    }

    public async Task DisposeAsync()
    {
        if (_admin is not null)
        {
            await _admin.DisposeAsync();
        }

        if (_replica is not null)
        {
            await _replica.DisposeAsync();
        }

        if (_primary is not null)
        {
            await _primary.DisposeAsync();
        }
    }

    private async Task WaitForLinkAsync()
    {
        var started = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(20))
        {
            try
            {
                var info = (string?)await Admin.GetServer(Replica.Endpoint).ExecuteAsync("INFO", "replication");
                var primaryInfo = (string?)await Admin.GetServer(Primary.Endpoint).ExecuteAsync("INFO", "replication");
                if (info?.Contains("master_link_status:up", StringComparison.Ordinal) == true
                    && primaryInfo?.Contains("connected_slaves:1", StringComparison.Ordinal) == true)
                {
                    return;
                }
            }
            catch (RedisException)
            {
                // The replica is still starting, or the admin connection is reconnecting to it.
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50), TimeProvider.System);
        }

        throw new InvalidOperationException($"The replica on port {Replica.Port} did not report master_link_status:up within 20 s.");
    }
}
