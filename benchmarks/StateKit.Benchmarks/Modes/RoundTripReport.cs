using System;
using System.Globalization;
using System.Threading.Tasks;
using StateKit.Benchmarks.Infrastructure;

namespace StateKit.Benchmarks.Modes;

/// <summary>
/// <c>--roundtrips</c>: Redis commands, round trips and bytes per request for every Redis-backed strategy, measured against
/// a dedicated redis-server (see <see cref="RedisMeter"/>), as a markdown table to set beside the BenchmarkDotNet times.
/// </summary>
public static class RoundTripReport
{
    private const int Count = 50;

    public static async Task<int> RunAsync()
    {
        await using var redis = await BenchRedis.StartAsync();
        var meter = new RedisMeter(redis);
        Console.WriteLine($"Redis: {redis.Server.Kind} on {redis.Server.Endpoint}; {Count} requests per row, per pass.");
        Console.WriteLine();
        Console.WriteLine("| strategy | request | payload | commands (server) | round trips (client) | bytes to Redis | bytes from Redis | server CPU µs |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|");
        Strategy[] strategies =
        [
            Strategy.AspNetCoreSessionRedis, Strategy.RawRedis2RoundTrips, Strategy.RawRedis1RoundTrip, Strategy.Redis,
            Strategy.DistributedCacheRedis, Strategy.Tiered, Strategy.NearCacheRedis,
        ];
        foreach (var payload in (int[])[256, 4096, 65536])
        {
            foreach (var strategy in strategies)
            {
                var driver = Strategies.Create(strategy, redis.Redis);
                await driver.SeedAsync(new SessionShape(payload));
                for (var i = 0; i < 5; i++)
                {
                    await driver.ReadModifyWriteAsync();
                }

                await RowAsync(meter, strategy, "load+change+commit", payload, async () => await driver.ReadModifyWriteAsync());
                if (strategy is Strategy.AspNetCoreSessionRedis or Strategy.Redis)
                {
                    await RowAsync(meter, strategy, "read-only", payload, async () => await driver.ReadOnlyAsync());
                    await RowAsync(meter, strategy, "write-only (blind)", payload, async () => await driver.WriteOnlyAsync());
                    await RowAsync(meter, strategy, "untouched", payload, async () => await driver.UntouchedAsync());
                }
            }
        }

        return 0;
    }

    private static async Task RowAsync(RedisMeter meter, Strategy strategy, string request, int payload, Func<Task> action)
    {
        var cost = await meter.MeasureAsync(action, Count);
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"| {strategy} | {request} | {payload:N0} | {Format(cost.Commands)} | {Format(cost.RoundTrips)} | {cost.BytesIn:N0} | {cost.BytesOut:N0} | {cost.ServerMicroseconds:0.0} |"));
    }

    private static string Format(double value) => value < 0 ? "n/a" : value.ToString("0.##", CultureInfo.InvariantCulture);
}
