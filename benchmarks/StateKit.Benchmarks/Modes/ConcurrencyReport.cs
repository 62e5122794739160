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
/// <c>--concurrency [seconds per row] [pinned|unpinned|both]</c> (defaults 3 and both): issue 17's saturation table, then lost updates.
/// <list type="number">
/// <item>Requests per second with 16 and 256 concurrent sessions, each its own session and its own loop, all over one multiplexer
/// to the same redis-server, per server-side strategy, at 256 B, 4 KB and 64 KB sessions and two request shapes: read-modify-write
/// (load, read <c>cart</c>, change it, commit) and read-only (load and read <c>cart</c> of a session that exists; nothing changes,
/// the commit is what the middleware does with an unchanged session). Next to each rate, the CPU one request cost this process
/// (<see cref="Process.TotalProcessorTime"/>) and the redis-server process (<c>INFO cpu</c>), both over the same window. The rate
/// and the server CPU are compared with ASP.NET Core session's in the same row group and marked against issue 17's targets:
/// server CPU per request at most ASP.NET Core session's (read-modify-write) or half of it (read-only), and at least 1.2x its
/// requests per second. DistributedCacheRedis runs at 4 KB read-modify-write only, to keep the run short. NearCacheRedis's
/// read-only rows are near-cache hits, which reach Redis only when an entry's time to live ends: their rate measures this process.</item>
/// <item>The whole table twice: <b>pinned</b>, redis-server on CPU 0 and this process (the load) on the others, so that one Redis
/// core is the ceiling as in a deployment; and <b>unpinned</b>, both free to share every core.</item>
/// <item>Lost updates when 100 concurrent requests each increment one counter in one session (unpinned).</item>
/// </list>
/// About 2.5 minutes per setting at 3 s per row on 2 cores.
/// </summary>
public static class ConcurrencyReport
{
    private const int Increments = 100;
    private static readonly int[] PayloadSizes = [256, 4096, 65536];
    private static readonly int[] Concurrencies = [16, 256];

    private enum Request
    {
        ReadModifyWrite,
        ReadOnly,
    }

    public static async Task<int> RunAsync(string[] args)
    {
        var seconds = args.Length > 0 ? double.Parse(args[0], CultureInfo.InvariantCulture) : 3;
        bool[] placements = (args.Length > 1 ? args[1] : "both") switch
        {
            "pinned" => [true],
            "unpinned" => [false],
            "both" => [true, false],
            _ => [],
        };
        if (placements.Length == 0)
        {
            Console.Error.WriteLine($"--concurrency [seconds per row] [pinned|unpinned|both]: '{args[1]}' is none of pinned, unpinned, both.");
            return 2;
        }

        // A warm-up of half a second, or less when the rows are short (the CI smoke), so that the run scales with its rows.
        var warmUp = TimeSpan.FromSeconds(Math.Min(0.5, seconds / 2));
        await using var redis = await BenchRedis.StartAsync();
        Console.WriteLine($"Redis: {redis.Server.Kind} on {redis.Server.Endpoint}; {seconds} s per row after a {warmUp.TotalSeconds} s warm-up; {CpuAffinity.Cpus} CPUs.");
        foreach (var pinned in placements)
        {
            Console.WriteLine();
            if (!Place(redis, pinned))
            {
                continue;
            }

            Console.WriteLine();
            await SaturationTableAsync(redis, TimeSpan.FromSeconds(seconds), warmUp);
        }

        Console.WriteLine();
        if (placements[^1] && redis.Server.ProcessId is { } pid)
        {
            // The lost-update table measures no throughput; free every core again for it.
            _ = CpuAffinity.TrySet(pid, CpuAffinity.All) ?? CpuAffinity.TrySet(Environment.ProcessId, CpuAffinity.All);
        }

        Console.WriteLine($"| {Increments} concurrent increments of one counter in one session | final value | lost updates |");
        Console.WriteLine("|---|---:|---:|");
        await LostUpdatesAsync(redis);
        return 0;
    }

    /// <summary>Pins or frees redis-server and this process, and prints the table's header line; false (said why) when it cannot.</summary>
    private static bool Place(BenchRedis redis, bool pinned)
    {
        if (redis.Server.ProcessId is not { } serverPid)
        {
            Console.WriteLine(pinned
                ? "### Pinned: skipped, the server is Garnet in this process, nothing to pin apart."
                : "### Unpinned: Garnet in this process, on every CPU");
            return !pinned;
        }

        if (pinned && CpuAffinity.Cpus < 2)
        {
            Console.WriteLine("### Pinned: skipped, one CPU only.");
            return false;
        }

        var (server, load) = pinned ? ("0", CpuAffinity.AllButFirst) : (CpuAffinity.All, CpuAffinity.All);
        var error = CpuAffinity.TrySet(serverPid, server) ?? CpuAffinity.TrySet(Environment.ProcessId, load);
        if (error is not null)
        {
            Console.WriteLine($"### {(pinned ? "Pinned" : "Unpinned")}: skipped, {error}");
            return false;
        }

        Console.WriteLine(pinned
            ? $"### Pinned: redis-server on CPU {server}, the load (this process) on CPU {load}"
            : $"### Unpinned: redis-server and the load (this process) both free on CPUs {load}");
        return true;
    }

    private static async Task SaturationTableAsync(BenchRedis redis, TimeSpan duration, TimeSpan warmUp)
    {
        Console.WriteLine("| session | request | concurrent sessions | strategy | requests/s | vs ASP.NET Core session | client CPU µs/request | server CPU µs/request | server CPU vs ASP.NET Core session | issue 17 targets |");
        Console.WriteLine("|---:|---|---:|---|---:|---:|---:|---:|---:|---|");
        int met = 0, checks = 0;
        foreach (var payload in PayloadSizes)
        {
            var shape = new SessionShape(payload);
            foreach (var request in (Request[])[Request.ReadModifyWrite, Request.ReadOnly])
            {
                List<Strategy> strategies = [Strategy.AspNetCoreSessionRedis, Strategy.Redis, Strategy.NearCacheRedis];
                if (payload == 4096 && request == Request.ReadModifyWrite)
                {
                    strategies.Insert(2, Strategy.DistributedCacheRedis);
                }

                foreach (var concurrency in Concurrencies)
                {
                    (double Rate, double Server) baseline = default;
                    foreach (var strategy in strategies)
                    {
                        var (rate, client, server) = await ThroughputAsync(redis, strategy, shape, request, concurrency, warmUp, duration);
                        var measured = redis.Server.IsRealRedis ? server : double.NaN;
                        string targets;
                        if (strategy == Strategy.AspNetCoreSessionRedis)
                        {
                            baseline = (rate, measured);
                            targets = "baseline";
                        }
                        else if (rate == 0 || baseline.Rate == 0)
                        {
                            // Rows too short for a busy machine (the CI smoke) can end before any request does.
                            targets = "not measured: no request completed in a window";
                        }
                        else
                        {
                            var (text, passed, count) = Targets(request, rate / baseline.Rate, double.IsNaN(measured) ? null : measured / baseline.Server);
                            targets = text;
                            met += passed;
                            checks += count;
                        }

                        Console.WriteLine(string.Create(
                            CultureInfo.InvariantCulture,
                            $"| {Size(payload)} | {Name(request)} | {concurrency} | {strategy} | {rate:N0} | {Ratio(rate, baseline.Rate)} | {Micros(client)} | {Micros(measured)} | {Ratio(measured, baseline.Server)} | {targets} |"));
                    }
                }
            }
        }

        Console.WriteLine();
        Console.WriteLine($"Issue 17 targets met: {met} of {checks} (server CPU/request <= 1x ASP.NET Core session's for read-modify-write, <= 0.5x for read-only; requests/s >= 1.2x).");
    }

    /// <summary>Issue 17's per-row targets: server CPU against ASP.NET Core session's (when measurable), and requests per second.</summary>
    private static (string Text, int Met, int Checks) Targets(Request request, double rateRatio, double? serverRatio)
    {
        var cpuLimit = request == Request.ReadModifyWrite ? 1.0 : 0.5;
        var rateMet = rateRatio >= 1.2;
        var text = $"rate ≥1.2x {(rateMet ? "met" : "missed")}";
        if (serverRatio is not { } ratio)
        {
            return (text, rateMet ? 1 : 0, 1);
        }

        var cpuMet = ratio <= cpuLimit;
        return (
            string.Create(CultureInfo.InvariantCulture, $"CPU ≤{cpuLimit:0.0#}x {(cpuMet ? "met" : "missed")}, {text}"),
            (cpuMet ? 1 : 0) + (rateMet ? 1 : 0),
            2);
    }

    private static string Ratio(double value, double baseline)
        => value > 0 && baseline > 0 ? (value / baseline).ToString("0.00x", CultureInfo.InvariantCulture)
            : value == 0 && baseline > 0 ? "0.00x" : "n/a";

    private static string Micros(double value) => double.IsNaN(value) ? "n/a" : value.ToString("0.0", CultureInfo.InvariantCulture);

    private static string Size(int bytes) => bytes >= 1024 ? $"{bytes / 1024} KB" : $"{bytes} B";

    private static string Name(Request request) => request == Request.ReadModifyWrite ? "read-modify-write" : "read-only";

    private static async Task<(double Rate, double ClientMicroseconds, double ServerMicroseconds)> ThroughputAsync(
        BenchRedis redis, Strategy strategy, SessionShape shape, Request request, int concurrency, TimeSpan warmUp, TimeSpan duration)
    {
        var drivers = CreateMany(strategy, redis, concurrency);
        await Task.WhenAll(drivers.Select(driver => driver.SeedAsync(shape)));

        long completed = 0;
        var measuring = 0;
        using var stop = new CancellationTokenSource();
        var workers = drivers.Select(driver => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var pending = request == Request.ReadModifyWrite ? driver.ReadModifyWriteAsync() : driver.ReadOnlyAsync();
                if (pending.IsCompleted)
                {
                    // A request served without I/O (a near-cache hit) would otherwise loop on its thread-pool thread for
                    // the whole row, and the other sessions (and the timer ending the row) would wait for thread injection.
                    pending.GetAwaiter().GetResult();
                    await Task.Yield();
                }
                else
                {
                    await pending;
                }
                if (Volatile.Read(ref measuring) == 1)
                {
                    Interlocked.Increment(ref completed);
                }
            }
        })).ToArray();

        await Task.Delay(warmUp);
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
        var client = done == 0 ? double.NaN : (process.TotalProcessorTime - clientBefore).TotalMicroseconds / done;
        var server = done == 0 ? double.NaN : (await ServerCpuSecondsAsync(redis) - serverBefore) * 1e6 / done;
        await stop.CancelAsync();
        await Task.WhenAll(workers);
        await redis.Admin.GetServer(redis.Server.Endpoint).FlushAllDatabasesAsync();
        return (done / elapsed.TotalSeconds, client, server);
    }

    /// <summary>The redis-server process's user + system CPU seconds so far (<c>INFO cpu</c>; Garnet runs in this process: 0).</summary>
    private static async Task<double> ServerCpuSecondsAsync(BenchRedis redis) => await RedisServerCpu.SecondsAsync(redis) ?? 0;

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
