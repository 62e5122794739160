using System;
using System.Globalization;
using System.Threading.Tasks;
using StateKit.Benchmarks.Infrastructure;

namespace StateKit.Benchmarks.Modes;

/// <summary>
/// <c>--ttfb [requests]</c>: time from a request's start to its first byte at the server, buffered (the behaviour before
/// issue 15) against streamed, for downloads of 1 KB to 1 MB and for an event stream that pauses 50 ms after its first
/// event. BenchmarkDotNet times whole operations, so this one is timed here, per request, in the same process.
/// </summary>
public static class FirstByteReport
{
    public static async Task<int> RunAsync(string[] args)
    {
        var requests = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 2000;
        Console.WriteLine($"In-process middleware, in-memory store, load + change + commit per request; {requests} requests per row (event streams: {requests / 20}).");
        Console.WriteLine();
        Console.WriteLine("| response | body | first byte p50 | first byte p99 | whole request p50 |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        foreach (var bodyBytes in (int[])[1024, 65536, 1048576])
        {
            foreach (var buffered in (bool[])[true, false])
            {
                await RowAsync(buffered ? "buffered" : "streamed", bodyBytes, buffered, TimeSpan.Zero, requests);
            }
        }

        foreach (var buffered in (bool[])[true, false])
        {
            await RowAsync(buffered ? "buffered event stream" : "streamed event stream", 32 * 1024, buffered, TimeSpan.FromMilliseconds(50), requests / 20);
        }

        return 0;
    }

    private static async Task RowAsync(string name, int bodyBytes, bool buffered, TimeSpan pause, int requests)
    {
        await using var pipeline = await MiddlewarePipeline.StartAsync(buffered, bodyBytes, pause);
        for (var i = 0; i < Math.Min(200, requests); i++)
        {
            await pipeline.TimeRequestAsync();
        }

        var firstBytes = new double[requests];
        var totals = new double[requests];
        for (var i = 0; i < requests; i++)
        {
            var (firstByte, total) = await pipeline.TimeRequestAsync();
            firstBytes[i] = firstByte.TotalMicroseconds;
            totals[i] = total.TotalMicroseconds;
        }

        Array.Sort(firstBytes);
        Array.Sort(totals);
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"| {name} | {bodyBytes:N0} B | {Format(Percentile(firstBytes, 0.50))} | {Format(Percentile(firstBytes, 0.99))} | {Format(Percentile(totals, 0.50))} |"));
    }

    private static double Percentile(double[] sorted, double p) => sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];

    private static string Format(double microseconds)
        => microseconds >= 1000
            ? string.Create(CultureInfo.InvariantCulture, $"{microseconds / 1000:0.00} ms")
            : string.Create(CultureInfo.InvariantCulture, $"{microseconds:0.0} µs");
}
