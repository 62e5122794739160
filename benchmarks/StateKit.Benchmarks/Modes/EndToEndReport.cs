using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using StateKit.Benchmarks.Infrastructure;
using StateKit.Redis.Testing;
using StateKit.Testing;

namespace StateKit.Benchmarks.Modes;

/// <summary>
/// <c>--e2e [requests] [seconds] [clients]</c>: the ShoppingCart sample under HTTP load on loopback, per strategy, next to ASP.NET
/// Core's own session (<c>AddSession</c> over <c>MemoryDistributedCache</c> and over <c>RedisCache</c>) serving the same shop API
/// (benchmarks/AspNetCoreSessionShop). Each app's built dll runs as a child process on a free 127.0.0.1 port; a bounded load
/// loop of HttpClients (each a shopper with its own cookies) alternates "add to cart" (POST, read-modify-write) and "show the
/// cart" (GET, read) until the request count or the duration is reached, whichever comes first. The same loop, counts and
/// warm-up for every row. Prints requests/s, p50/p99 latency, and for the Redis-backed rows the redis-server's CPU per request
/// (<c>INFO cpu</c> over the measured window). After each row every shopper's cart must hold exactly the adds the app
/// acknowledged, or the mode fails.
/// </summary>
public static class EndToEndReport
{
    /// <summary>Issue 17's goal: StateKit over Redis at least this many times the requests/s of ASP.NET Core session over RedisCache.</summary>
    private const double RedisGoal = 1.2;

    private const string Sku = "tea";

    // In the order they run: each baseline right after the StateKit row it is compared with, so that on a shared machine both
    // see the same moment's neighbours.
    private static readonly Row[] Rows =
    [
        new("memory", Baseline: false, UsesRedis: false, ComparedWith: "aspnetcore-memory"),
        new("aspnetcore-memory", Baseline: true, UsesRedis: false),
        new("sticky", Baseline: false, UsesRedis: false),
        new("redis", Baseline: false, UsesRedis: true, ComparedWith: "aspnetcore-redis"),
        new("aspnetcore-redis", Baseline: true, UsesRedis: true),
        new("clientside", Baseline: false, UsesRedis: false),
        new("jwt", Baseline: false, UsesRedis: false),
    ];

    public static async Task<int> RunAsync(string[] args)
    {
        var requests = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 20_000;
        var duration = TimeSpan.FromSeconds(args.Length > 1 ? double.Parse(args[1], CultureInfo.InvariantCulture) : 10);
        var clients = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 16;
        var root = RepositoryRoot();
        var sampleDll = Path.Combine(root, "samples", "ShoppingCart", "bin", "Release", "net10.0", "ShoppingCart.dll");
        var baselineDll = Path.Combine(root, "benchmarks", "AspNetCoreSessionShop", "bin", "Release", "net10.0", "AspNetCoreSessionShop.dll");
        foreach (var (dll, project) in (ReadOnlySpan<(string, string)>)[(sampleDll, "samples/ShoppingCart"), (baselineDll, "benchmarks/StateKit.Benchmarks")])
        {
            if (!File.Exists(dll))
            {
                Console.Error.WriteLine($"Build it first: dotnet build -c Release {project} ({dll} is missing).");
                return 2;
            }
        }

        await using var redis = await BenchRedis.StartAsync();
        Console.WriteLine($"ShoppingCart ({sampleDll}) per strategy; aspnetcore-memory and aspnetcore-redis: the same shop API on ASP.NET Core's AddSession over MemoryDistributedCache and RedisCache ({baselineDll}). {clients} concurrent shoppers alternating POST /api/cart/{Sku} and GET /api/state; at most {requests:N0} requests or {duration.TotalSeconds} s per row after up to 500 warm-up requests; client, apps and Redis ({redis.Server.Kind}) share this machine.");
        Console.WriteLine();

        var results = new Dictionary<string, LoadResult>();
        foreach (var row in Rows)
        {
            List<string> arguments = row.Baseline
                ? ["--cache", row.UsesRedis ? "redis" : "memory"]
                : ["--store", row.Name];
            arguments.Add("--Logging:LogLevel:Default=Warning");
            if (row.UsesRedis)
            {
                arguments.Add($"--ConnectionStrings:redis={redis.Configuration}");

                // Each Redis-backed row starts on an empty server.
                await redis.Admin.GetServer(redis.Server.Endpoint).FlushAllDatabasesAsync();
            }

            var dll = row.Baseline ? baselineDll : sampleDll;
            await using var app = await SampleProcess.StartAsync(dll, Path.GetDirectoryName(dll)!, TestServer.FreePort(), arguments);
            var result = await LoadAsync(app.BaseAddress, clients, requests, duration, row.UsesRedis ? () => RedisServerCpu.SecondsAsync(redis) : null);
            results[row.Name] = result;
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"e2e: {row.Name}: {result.RequestsPerSecond:N0} requests/s"));
        }

        Console.WriteLine("| strategy | requests | requests/s | vs ASP.NET Core session | p50 (ms) | p99 (ms) | errors | Redis server CPU µs/request |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var row in Rows)
        {
            var result = results[row.Name];
            var ratio = row.ComparedWith is { } baseline ? Ratio(result, results[baseline]) : row.Baseline ? "1.00x" : "-";
            var cpu = !row.UsesRedis ? "-" : result.ServerMicroseconds is { } us ? us.ToString("0.0", CultureInfo.InvariantCulture) : "n/a (Garnet)";
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"| {row.Name} | {result.Count:N0} | {result.RequestsPerSecond:N0} | {ratio} | {result.P50:0.00} | {result.P99:0.00} | {result.Errors} | {cpu} |"));
        }

        Console.WriteLine();
        var redisRatio = results["redis"].RequestsPerSecond / results["aspnetcore-redis"].RequestsPerSecond;
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"Goal (issue 17): StateKit redis at least {RedisGoal:0.0}x the requests/s of ASP.NET Core session over RedisCache: {(redisRatio >= RedisGoal ? "met" : "missed")} ({redisRatio:0.00}x)."));
        if (results["redis"].ServerMicroseconds is { } statekit && results["aspnetcore-redis"].ServerMicroseconds is { } aspnet)
        {
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"Redis server CPU per request: StateKit {statekit:0.0} µs, ASP.NET Core session {aspnet:0.0} µs ({statekit / aspnet:0.00}x)."));
        }

        var mismatched = Rows.Where(r => results[r.Name].MismatchedCarts > 0).ToList();
        foreach (var row in mismatched)
        {
            Console.Error.WriteLine($"e2e: {row.Name}: {results[row.Name].MismatchedCarts} of {clients} shoppers' carts do not hold the adds the app acknowledged.");
        }

        Console.WriteLine(mismatched.Count == 0
            ? "After each row, every shopper's cart held exactly the adds the app acknowledged."
            : $"CARTS WRONG in {string.Join(", ", mismatched.Select(r => r.Name))}: the numbers above do not compare like with like.");
        return mismatched.Count == 0 ? 0 : 1;
    }

    private static string Ratio(LoadResult result, LoadResult baseline)
        => string.Create(CultureInfo.InvariantCulture, $"{result.RequestsPerSecond / baseline.RequestsPerSecond:0.00}x");

    /// <summary>One row: a StateKit store of the sample (<c>--store</c>), or ASP.NET Core session in the baseline app (<c>--cache</c>).</summary>
    private sealed record Row(string Name, bool Baseline, bool UsesRedis, string? ComparedWith = null);

    private sealed record LoadResult(int Count, TimeSpan Elapsed, double P50, double P99, int Errors, double? ServerMicroseconds, int MismatchedCarts)
    {
        public double RequestsPerSecond => Count / Elapsed.TotalSeconds;
    }

    /// <summary>A browser's worth of client: its own cookies, and the adds the app acknowledged to it.</summary>
    private sealed class Shopper(Uri baseAddress) : IDisposable
    {
        public HttpClient Http { get; } = new(new SocketsHttpHandler { UseCookies = true, CookieContainer = new CookieContainer() })
        {
            BaseAddress = baseAddress,
            Timeout = TimeSpan.FromSeconds(30),
        };

        public int Adds { get; set; }

        public void Dispose() => Http.Dispose();
    }

    private static async Task<LoadResult> LoadAsync(Uri baseAddress, int clients, int maxRequests, TimeSpan duration, Func<Task<double?>>? serverCpuSeconds)
    {
        var shoppers = Enumerable.Range(0, clients).Select(_ => new Shopper(baseAddress)).ToList();
        try
        {
            // Warm-up: JIT, connection pools, every shopper's first cookie.
            await RunAsync(shoppers, Math.Min(500, Math.Max(clients, maxRequests / 4)), TimeSpan.FromSeconds(30), null);
            var latencies = new List<double>(maxRequests);
            var serverBefore = serverCpuSeconds is null ? null : await serverCpuSeconds();
            var clock = Stopwatch.StartNew();
            var errors = await RunAsync(shoppers, maxRequests, duration, latencies);
            var elapsed = clock.Elapsed;
            var serverAfter = serverCpuSeconds is null ? null : await serverCpuSeconds();
            latencies.Sort();
            var serverMicroseconds = (serverAfter - serverBefore) * 1e6 / Math.Max(1, latencies.Count);
            var mismatched = 0;
            foreach (var shopper in shoppers)
            {
                mismatched += await QuantityAsync(shopper.Http) == shopper.Adds ? 0 : 1;
            }

            return new LoadResult(latencies.Count, elapsed, Percentile(latencies, 0.50), Percentile(latencies, 0.99), errors, serverMicroseconds, mismatched);
        }
        finally
        {
            shoppers.ForEach(s => s.Dispose());
        }
    }

    private static async Task<int> RunAsync(List<Shopper> shoppers, int maxRequests, TimeSpan duration, List<double>? latencies)
    {
        var issued = 0;
        var errors = 0;
        var deadline = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        await Task.WhenAll(shoppers.Select(shopper => Task.Run(async () =>
        {
            var add = true;
            while (Interlocked.Increment(ref issued) <= maxRequests && Stopwatch.GetTimestamp() < deadline)
            {
                var start = Stopwatch.GetTimestamp();
                using var response = add
                    ? await shopper.Http.PostAsync($"/api/cart/{Sku}", null)
                    : await shopper.Http.GetAsync("/api/state");
                await response.Content.LoadIntoBufferAsync();
                var ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                if (!response.IsSuccessStatusCode)
                {
                    Interlocked.Increment(ref errors);
                }
                else if (add)
                {
                    shopper.Adds++;
                }

                if (latencies is not null)
                {
                    lock (latencies)
                    {
                        latencies.Add(ms);
                    }
                }

                add = !add;
            }
        })));
        return errors;
    }

    /// <summary>How many of <see cref="Sku"/> the shopper's cart holds, as <c>GET /api/state</c> shows it.</summary>
    private static async Task<int> QuantityAsync(HttpClient http)
    {
        using var state = JsonDocument.Parse(await http.GetStringAsync("/api/state"));
        return state.RootElement.GetProperty("cart").EnumerateArray()
            .Where(line => line.GetProperty("sku").GetString() == Sku)
            .Sum(line => line.GetProperty("quantity").GetInt32());
    }

    private static double Percentile(List<double> sorted, double p)
        => sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "StateKit.sln")))
            {
                return dir.FullName;
            }
        }

        for (var dir = new DirectoryInfo(Environment.CurrentDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "StateKit.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("StateKit.sln not found above " + AppContext.BaseDirectory);
    }
}
