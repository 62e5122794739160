using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Session;
using Microsoft.Extensions.Logging.Abstractions;
using StateKit.Benchmarks.Infrastructure;
using StateKit.Caching;
using StateKit.Distributed;

namespace StateKit.Benchmarks.Modes;

/// <summary>
/// <c>--concurrency [seconds]</c>: (1) read-modify-write requests per second with 1, 16 and 256 concurrent sessions, each its own
/// session and its own loop, all over one multiplexer to the same redis-server, per server-side strategy; (2) lost updates when
/// 100 concurrent requests each increment one counter in one session. Next to each rate, the CPU one request cost the
/// client process (<see cref="Process.TotalProcessorTime"/>) and the redis-server process (<c>INFO cpu</c>), both measured
/// over the same window: on a machine where both share the cores, that is what bounds throughput.
/// </summary>
public static class ConcurrencyReport
{
    private const int PayloadBytes = 4096;
    private const int Increments = 100;

    public static async Task<int> RunAsync(string[] args)
    {
        var seconds = args.Length > 0 ? double.Parse(args[0], CultureInfo.InvariantCulture) : 3;
        await using var redis = await BenchRedis.StartAsync();
        Console.WriteLine($"Redis: {redis.Server.Kind} on {redis.Server.Endpoint}; {PayloadBytes:N0} B sessions; {seconds} s per row after a warm-up; client and server share this machine.");
        Console.WriteLine();
        Console.WriteLine("| strategy | concurrent sessions | requests/s | vs ASP.NET Core session | client CPU µs/request | server CPU µs/request |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        Strategy[] strategies = [Strategy.AspNetCoreSessionRedis, Strategy.Redis, Strategy.DistributedCacheRedis, Strategy.NearCacheRedis];
        foreach (var concurrency in (int[])[1, 16, 256])
        {
            double baseline = 0;
            foreach (var strategy in strategies)
            {
                var (rate, client, server) = await ThroughputAsync(redis, strategy, concurrency, TimeSpan.FromSeconds(seconds));
                baseline = strategy == Strategy.AspNetCoreSessionRedis ? rate : baseline;
                Console.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"| {strategy} | {concurrency} | {rate:N0} | {rate / baseline:0.00}x | {client:0.0} | {server:0.0} |"));
            }
        }

        Console.WriteLine();
        Console.WriteLine($"| {Increments} concurrent increments of one counter in one session | final value | lost updates |");
        Console.WriteLine("|---|---:|---:|");
        await LostUpdatesAsync(redis);
        return 0;
    }

    private static async Task<(double Rate, double ClientMicroseconds, double ServerMicroseconds)> ThroughputAsync(
        BenchRedis redis, Strategy strategy, int concurrency, TimeSpan duration)
    {
        var drivers = CreateMany(strategy, redis, concurrency);
        var shape = new SessionShape(PayloadBytes);
        foreach (var driver in drivers)
        {
            await driver.SeedAsync(shape);
        }

        long completed = 0;
        var measuring = 0;
        using var stop = new CancellationTokenSource();
        var workers = drivers.Select(driver => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await driver.ReadModifyWriteAsync();
                if (Volatile.Read(ref measuring) == 1)
                {
                    Interlocked.Increment(ref completed);
                }
            }
        })).ToArray();

        await Task.Delay(TimeSpan.FromSeconds(0.5));
        var process = Process.GetCurrentProcess();
        var serverBefore = await ServerCpuSecondsAsync(redis);
        var clientBefore = process.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        Volatile.Write(ref measuring, 1);
        await Task.Delay(duration);
        Volatile.Write(ref measuring, 0);
        var elapsed = clock.Elapsed;
        var done = Interlocked.Read(ref completed);
        process.Refresh();
        var client = (process.TotalProcessorTime - clientBefore).TotalMicroseconds / Math.Max(1, done);
        var server = (await ServerCpuSecondsAsync(redis) - serverBefore) * 1e6 / Math.Max(1, done);
        await stop.CancelAsync();
        await Task.WhenAll(workers);
        await redis.Admin.GetServer(redis.Server.Endpoint).FlushAllDatabasesAsync();
        return (done / elapsed.TotalSeconds, client, server);
    }

    /// <summary>The redis-server process's user + system CPU seconds so far (<c>INFO cpu</c>; Garnet runs in this process: 0).</summary>
    private static async Task<double> ServerCpuSecondsAsync(BenchRedis redis)
    {
        if (!redis.Server.IsRealRedis)
        {
            return 0;
        }

        var info = await redis.Admin.GetServer(redis.Server.Endpoint).InfoRawAsync("cpu") ?? string.Empty;
        double seconds = 0;
        foreach (var line in info.Split('\n'))
        {
            if (line.StartsWith("used_cpu_user:", StringComparison.Ordinal) || line.StartsWith("used_cpu_sys:", StringComparison.Ordinal))
            {
                seconds += double.Parse(line.AsSpan(line.IndexOf(':', StringComparison.Ordinal) + 1).Trim(), CultureInfo.InvariantCulture);
            }
        }

        return seconds;
    }

    /// <summary>One store (or cache) per strategy, as an application has; one session per concurrent client.</summary>
    private static List<RequestDriver> CreateMany(Strategy strategy, BenchRedis redis, int count)
    {
        ISessionStore? store = strategy switch
        {
            Strategy.Redis => Strategies.RedisStore(redis.Redis),
            Strategy.DistributedCacheRedis => new DistributedCacheSessionStore(Strategies.RedisCache(redis.Redis), new DistributedCacheSessionStoreOptions()),
            Strategy.NearCacheRedis => new NearCacheSessionStore(Strategies.RedisStore(redis.Redis), new NearCacheOptions(), new InMemorySessionInvalidationBus()),
            _ => null,
        };
        var cache = store is null ? Strategies.RedisCache(redis.Redis) : null;
        return Enumerable.Range(0, count)
            .Select(_ => store is null ? (RequestDriver)new AspNetCoreSessionDriver(cache!) : new StateKitDriver(store))
            .ToList();
    }

    private static async Task LostUpdatesAsync(BenchRedis redis)
    {
        // ASP.NET Core session: each request loads, increments, commits the whole session; the last writer wins.
        var cache = Strategies.RedisCache(redis.Redis);
        var sessions = new DistributedSessionStore(cache, NullLoggerFactory.Instance);
        var key = Guid.NewGuid().ToString();
        var seed = sessions.Create(key, TimeSpan.FromMinutes(20), TimeSpan.FromSeconds(30), () => true, isNewSessionKey: true);
        seed.Set("n", Counter(0));
        await seed.CommitAsync();
        await Task.WhenAll(Enumerable.Range(0, Increments).Select(_ => Task.Run(async () =>
        {
            var session = sessions.Create(key, TimeSpan.FromMinutes(20), TimeSpan.FromSeconds(30), () => true, isNewSessionKey: false);
            await session.LoadAsync();
            session.TryGetValue("n", out var n);
            session.Set("n", Counter(Read(n) + 1));
            await session.CommitAsync();
        })));
        var check = sessions.Create(key, TimeSpan.FromMinutes(20), TimeSpan.FromSeconds(30), () => true, isNewSessionKey: false);
        await check.LoadAsync();
        check.TryGetValue("n", out var final);
        Row("ASP.NET Core session over RedisCache (load, set, commit)", Read(final));

        // StateKit Redis, the same plain load/set/commit: per-key merge keeps other keys, but the same key is last-writer-wins.
        var store = Strategies.RedisStore(redis.Redis);
        var ticket = await SeedCounterAsync(store);
        await Task.WhenAll(Enumerable.Range(0, Increments).Select(_ => Task.Run(async () =>
        {
            var session = new StateSession(store, ticket);
            await session.LoadAsync();
            session.TryGetBytes("n", out var n);
            session.SetBytes("n", Counter(Read(n.ToArray()) + 1));
            await session.CommitAsync();
        })));
        Row("StateKit Redis, plain load/set/commit (MergeKeys)", await ReadCounterAsync(store, ticket));

        // StateKit Redis with UpdateAsync: compare-and-set on the version, retried on conflict.
        ticket = await SeedCounterAsync(store);
        await Task.WhenAll(Enumerable.Range(0, Increments).Select(_ => Task.Run(async () =>
            await store.UpdateAsync(ticket, s =>
            {
                s.TryGetBytes("n", out var n);
                s.SetBytes("n", Counter(Read(n.ToArray()) + 1));
            }, maxAttempts: 1000))));
        Row("StateKit Redis, UpdateAsync (compare-and-set, retry)", await ReadCounterAsync(store, ticket));
    }

    private static async Task<string> SeedCounterAsync(ISessionStore store)
    {
        var session = new StateSession(store, null);
        session.SetBytes("n", Counter(0));
        return (await session.CommitAsync()).Ticket!;
    }

    private static async Task<int> ReadCounterAsync(ISessionStore store, string ticket)
    {
        var session = new StateSession(store, ticket);
        await session.LoadAsync();
        session.TryGetBytes("n", out var n);
        return Read(n.ToArray());
    }

    private static byte[] Counter(int value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, value);
        return bytes;
    }

    private static int Read(byte[]? bytes) => bytes is { Length: 4 } ? BinaryPrimitives.ReadInt32LittleEndian(bytes) : 0;

    private static void Row(string name, int final)
        => Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {final} | {Increments - final} |"));
}
