using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using StateKit.Benchmarks.Infrastructure;
using StateKit.Redis.Testing;
using StateKit.Testing;

namespace StateKit.Benchmarks.Modes;

/// <summary>
/// <c>--e2e [requests] [seconds] [clients]</c>: the ShoppingCart sample under HTTP load on loopback, per strategy. The sample's
/// built dll runs as a child process on a free 127.0.0.1 port; a bounded load loop of HttpClients (each a shopper with its own
/// cookies) alternates "add to cart" (POST, read-modify-write) and "show the cart" (GET, read) until the request count or the
/// duration is reached, whichever comes first. Prints requests/s and p50/p99 latency.
/// </summary>
public static class EndToEndReport
{
    public static async Task<int> RunAsync(string[] args)
    {
        var requests = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 20_000;
        var duration = TimeSpan.FromSeconds(args.Length > 1 ? double.Parse(args[1], CultureInfo.InvariantCulture) : 10);
        var clients = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 16;
        var dll = Path.Combine(RepositoryRoot(), "samples", "ShoppingCart", "bin", "Release", "net10.0", "ShoppingCart.dll");
        if (!File.Exists(dll))
        {
            Console.Error.WriteLine($"Build the sample first: dotnet build -c Release samples/ShoppingCart ({dll} is missing).");
            return 2;
        }

        await using var redis = await BenchRedis.StartAsync();
        Console.WriteLine($"ShoppingCart ({dll}); {clients} concurrent shoppers; at most {requests:N0} requests or {duration.TotalSeconds} s per strategy after up to 500 warm-up requests; client, app and Redis ({redis.Server.Kind}) share this machine.");
        Console.WriteLine();
        Console.WriteLine("| strategy | requests | requests/s | p50 (ms) | p99 (ms) | errors |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        foreach (var store in (string[])["memory", "sticky", "redis", "clientside", "jwt"])
        {
            List<string> arguments = ["--store", store, "--Logging:LogLevel:Default=Warning"];
            if (store == "redis")
            {
                arguments.Add($"--ConnectionStrings:redis={redis.Configuration}");
            }

            await using var sample = await SampleProcess.StartAsync(dll, Path.GetDirectoryName(dll)!, TestServer.FreePort(), arguments);
            var result = await LoadAsync(sample.BaseAddress, clients, requests, duration);
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"| {store} | {result.Count:N0} | {result.Count / result.Elapsed.TotalSeconds:N0} | {result.P50:0.00} | {result.P99:0.00} | {result.Errors} |"));
        }

        return 0;
    }

    private sealed record LoadResult(int Count, TimeSpan Elapsed, double P50, double P99, int Errors);

    private static async Task<LoadResult> LoadAsync(Uri baseAddress, int clients, int maxRequests, TimeSpan duration)
    {
        var shoppers = Enumerable.Range(0, clients).Select(_ => new HttpClient(new SocketsHttpHandler { UseCookies = true, CookieContainer = new CookieContainer() })
        {
            BaseAddress = baseAddress,
            Timeout = TimeSpan.FromSeconds(30),
        }).ToList();
        try
        {
            // Warm-up: JIT, connection pools, every shopper's first cookie.
            await RunAsync(shoppers, Math.Min(500, Math.Max(clients, maxRequests / 4)), TimeSpan.FromSeconds(30), null);
            var latencies = new List<double>(maxRequests);
            var clock = Stopwatch.StartNew();
            var errors = await RunAsync(shoppers, maxRequests, duration, latencies);
            var elapsed = clock.Elapsed;
            latencies.Sort();
            return new LoadResult(latencies.Count, elapsed, Percentile(latencies, 0.50), Percentile(latencies, 0.99), errors);
        }
        finally
        {
            shoppers.ForEach(s => s.Dispose());
        }
    }

    private static async Task<int> RunAsync(List<HttpClient> shoppers, int maxRequests, TimeSpan duration, List<double>? latencies)
    {
        var issued = 0;
        var errors = 0;
        var deadline = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        await Task.WhenAll(shoppers.Select(http => Task.Run(async () =>
        {
            var add = true;
            while (Interlocked.Increment(ref issued) <= maxRequests && Stopwatch.GetTimestamp() < deadline)
            {
                var start = Stopwatch.GetTimestamp();
                using var response = add
                    ? await http.PostAsync("/api/cart/tea", null)
                    : await http.GetAsync("/api/state");
                await response.Content.LoadIntoBufferAsync();
                var ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                if (!response.IsSuccessStatusCode)
                {
                    Interlocked.Increment(ref errors);
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
