using System;
using System.Diagnostics;
using System.Globalization;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;
using StackExchange.Redis;
using StateKit.Redis;
using StateKit.Redis.Testing;

namespace StateKit.Benchmarks;

/// <summary>
/// What <see cref="RedisSessionStoreOptions.RequireReplicaAcks"/> costs a read-modify-write on a real primary with one
/// replica (<c>redis-server --replicaof</c>), both on loopback: the baseline waits for no replica, the other case sends
/// each commit's script and its <c>WAIT 1</c> to the key's primary, pipelined. Needs redis-server: Garnet has no
/// <c>WAIT</c>.
/// </summary>
[MemoryDiagnoser]
public class ReplicaAckBenchmarks
{
    // Two carts, alternated, so that every commit changes the value and writes.
    private static readonly byte[][] Carts = [new byte[256], CreateFilled(256)];
    private int _turn;

    private TestServer _primary = null!;
    private TestServer _replica = null!;
    private ConnectionMultiplexer _redis = null!;
    private RedisSessionStore _plain = null!;
    private RedisSessionStore _acked = null!;
    private string _plainTicket = null!;
    private string _ackedTicket = null!;

    [GlobalSetup]
    public void Setup() => SetupAsync().GetAwaiter().GetResult();

    [GlobalCleanup]
    public void Cleanup()
    {
        _redis.Dispose();
        _replica.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _primary.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    [Benchmark(Baseline = true)]
    public Task<string> ReadModifyWrite_NoReplicaAck() => ReadModifyWriteAsync(_plain, _plainTicket);

    [Benchmark]
    public Task<string> ReadModifyWrite_OneReplicaAck() => ReadModifyWriteAsync(_acked, _ackedTicket);

    private static byte[] CreateFilled(int length)
    {
        var bytes = new byte[length];
        Array.Fill(bytes, (byte)1);
        return bytes;
    }

    private async Task<string> ReadModifyWriteAsync(RedisSessionStore store, string ticket)
    {
        var session = store.Open(ticket);
        await session.LoadAsync();
        session.SetBytes("cart", Carts[++_turn & 1]);
        var result = await session.CommitAsync();
        return result.Ticket!;
    }

    private static async Task<string> SeedAsync(RedisSessionStore store)
    {
        var session = store.Open(null);
        session.SetBytes("cart", Carts[0]);
        return (await session.CommitAsync()).Ticket!;
    }

    private async Task SetupAsync()
    {
        if (!RedisServerAvailability.IsOnPath)
        {
            throw new InvalidOperationException("ReplicaAckBenchmarks needs redis-server on PATH (Garnet has no WAIT): apt-get install redis-server.");
        }

        _primary = await TestServer.StartRedisAsync([]);
        _replica = await TestServer.StartRedisAsync(["--replicaof", "127.0.0.1", _primary.Port.ToString(CultureInfo.InvariantCulture)]);
        _redis = await ConnectionMultiplexer.ConnectAsync($"{_primary.Endpoint},abortConnect=false");
        await using (var admin = await ConnectionMultiplexer.ConnectAsync($"{_replica.Endpoint},abortConnect=false,allowAdmin=true"))
        {
            var started = Stopwatch.GetTimestamp();
            while (!((string?)await admin.GetServer(_replica.Endpoint).ExecuteAsync("INFO", "replication") ?? string.Empty).Contains("master_link_status:up", StringComparison.Ordinal))
            {
                if (Stopwatch.GetElapsedTime(started) > TimeSpan.FromSeconds(20))
                {
                    throw new TimeoutException($"The replica on {_replica.Endpoint} did not link to {_primary.Endpoint} within 20 s.");
                }

                await Task.Delay(TimeSpan.FromMilliseconds(50), TimeProvider.System);
            }
        }

        _plain = new RedisSessionStore(_redis, new RedisSessionStoreOptions { KeyPrefix = "plain:" });
        _acked = new RedisSessionStore(_redis, new RedisSessionStoreOptions { KeyPrefix = "acked:", RequireReplicaAcks = 1 });
        _plainTicket = await SeedAsync(_plain);
        _ackedTicket = await SeedAsync(_acked);
    }
}
