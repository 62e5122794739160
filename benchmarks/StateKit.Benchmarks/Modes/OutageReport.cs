using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StateKit.DependencyInjection;
using StateKit.Redis;
using StateKit.Redis.Testing;
using StateKit.Resilience;

namespace StateKit.Benchmarks.Modes;

/// <summary>
/// <c>--outage [seconds] [freeze seconds]</c>: the figures behind <c>UseRedis</c>'s fail-fast defaults (docs/decisions.md).
/// (1) The healthy latency of a Redis load and commit through <c>UseRedis</c> with its defaults, under 1, 16 and 64
/// concurrent sessions: p50, p99, p99.9 and max. (2) What a request costs while redis-server is frozen (SIGSTOP) with the
/// defaults: before the breaker opens, while it is open, and how long after the thaw requests succeed again.
/// </summary>
public static class OutageReport
{
    private const int PayloadBytes = 4096;

    public static async Task<int> RunAsync(string[] args)
    {
        var seconds = args.Length > 0 ? double.Parse(args[0], CultureInfo.InvariantCulture) : 5;
        var freeze = args.Length > 1 ? double.Parse(args[1], CultureInfo.InvariantCulture) : 8;
        await using var server = await TestServer.StartStandaloneAsync();
        Console.WriteLine($"Redis: {server.Kind} on {server.Endpoint}; {PayloadBytes:N0} B sessions; UseRedis with its defaults (own multiplexer); client and server share this machine.");
        Console.WriteLine();
        Console.WriteLine($"Healthy, {seconds} s per row after a warm-up; each session loops load, change, commit with no pause:");
        Console.WriteLine();
        Console.WriteLine("| concurrent sessions | op | calls | p50 ms | p99 ms | p99.9 ms | max ms |");
        Console.WriteLine("|---:|---|---:|---:|---:|---:|---:|");
        foreach (var concurrency in (int[])[1, 16, 64])
        {
            await using var provider = Build(server);
            var store = provider.GetRequiredService<ISessionStore>();
            var tickets = await SeedAsync(store, concurrency);
            await RunAsync(store, tickets, TimeSpan.FromSeconds(Math.Min(1, seconds)), null);
            var calls = new ConcurrentBag<Call>();
            await RunAsync(store, tickets, TimeSpan.FromSeconds(seconds), calls);
            foreach (var op in (string[])["load", "commit"])
            {
                var d = calls.Where(c => c.Op == op && c.Ok).Select(c => c.Duration.TotalMilliseconds).Order().ToArray();
                Console.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"| {concurrency} | {op} | {d.Length:N0} | {P(d, 0.5):0.00} | {P(d, 0.99):0.00} | {P(d, 0.999):0.00} | {d.DefaultIfEmpty().Max():0.00} |"));
            }
        }

        if (!server.IsRealRedis)
        {
            Console.WriteLine("// The outage part needs a redis-server process to freeze; skipped.");
            return 0;
        }

        await FrozenAsync(server, freeze);
        return 0;
    }

    private static async Task FrozenAsync(TestServer server, double freezeSeconds)
    {
        const int Concurrency = 16;
        await using var provider = Build(server);
        var store = (ResilientSessionStore)provider.GetRequiredService<ISessionStore>();
        var options = provider.GetRequiredService<IOptionsMonitor<ResilienceOptions>>().Get(string.Empty);
        var tickets = await SeedAsync(store, Concurrency);
        await RunAsync(store, tickets, TimeSpan.FromSeconds(1), null);
        store.CircuitBreaker.Reset();

        var clock = Stopwatch.StartNew();
        var transitions = new ConcurrentQueue<(CircuitState To, TimeSpan At)>();
        store.CircuitBreaker.StateChanged += (_, c) => transitions.Enqueue((c.To, clock.Elapsed));
        var calls = new ConcurrentBag<Call>();
        using var stop = new CancellationTokenSource();
        var running = RunAsync(store, tickets, TimeSpan.FromMinutes(2), calls, clock, stop.Token);
        await Task.Delay(TimeSpan.FromSeconds(1));
        var frozenAt = clock.Elapsed;
        server.Freeze();
        await Task.Delay(TimeSpan.FromSeconds(freezeSeconds));
        server.Thaw();
        var thawedAt = clock.Elapsed;

        // Until the circuit has closed and requests succeed again, capped.
        while (clock.Elapsed < thawedAt + TimeSpan.FromSeconds(60)
            && !(store.CircuitBreaker.State == CircuitState.Closed && calls.Any(c => c.Ok && c.Start > thawedAt && c.StateAtStart == CircuitState.Closed)))
        {
            await Task.Delay(TimeSpan.FromMilliseconds(20));
        }

        var recoveredAt = clock.Elapsed;
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        await stop.CancelAsync();
        await running;

        var openedAt = transitions.Where(t => t.To == CircuitState.Open && t.At >= frozenAt).Select(t => t.At).DefaultIfEmpty(TimeSpan.MaxValue).Min();
        var closedAt = transitions.Where(t => t.To == CircuitState.Closed && t.At >= thawedAt).Select(t => t.At).DefaultIfEmpty(TimeSpan.MaxValue).Min();
        var firstOk = calls.Where(c => c.Ok && c.Start >= thawedAt).Select(c => c.Start + c.Duration).DefaultIfEmpty(TimeSpan.MaxValue).Min();
        var during = calls.Where(c => c.Start >= frozenAt && c.Start < thawedAt).ToArray();
        var beforeOpen = during.Where(c => c.Start < openedAt).ToArray();
        var whileOpen = during.Where(c => c.Start >= openedAt && c.Error is SessionStoreRejectedException { Reason: SessionStoreRejectionReason.CircuitOpen }).ToArray();
        var probes = during.Where(c => c.Start >= openedAt && c.Error is not SessionStoreRejectedException { Reason: SessionStoreRejectionReason.CircuitOpen }).ToArray();
        var untyped = calls.Where(c => !c.Ok && c.Error is not SessionStoreUnavailableException).ToArray();

        Console.WriteLine();
        Console.WriteLine($"Frozen: {Concurrency} sessions loop load, change, commit with no pause; redis-server SIGSTOPped for {freezeSeconds} s. "
            + $"Defaults: timeout {options.Timeout.TotalMilliseconds} ms, breaker ratio {options.CircuitBreaker.FailureRatio}, minimum {options.CircuitBreaker.MinimumThroughput} calls, window {options.CircuitBreaker.SamplingDuration.TotalSeconds} s, break {options.CircuitBreaker.BreakDuration.TotalSeconds} s.");
        Console.WriteLine();
        Console.WriteLine("| phase | calls | failed | p50 ms | p99 ms | max ms |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        Row("frozen, before the breaker opened", beforeOpen);
        Row("frozen, breaker open: rejected", whileOpen);
        Row("frozen, breaker half-open: probes", probes);
        Console.WriteLine();
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"breaker opened {Since(openedAt, frozenAt)} after the freeze; thawed at +{(thawedAt - frozenAt).TotalSeconds:0.0} s; breaker closed {Since(closedAt, thawedAt)} after the thaw; first success {Since(firstOk, thawedAt)} after the thaw (recovery loop ended {Since(recoveredAt, thawedAt)} after it)"));
        Console.WriteLine($"failures not typed SessionStoreUnavailableException: {untyped.Length}; longest call of the whole run: {calls.Max(c => c.Duration).TotalMilliseconds:0} ms");
        foreach (var t in transitions)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  +{(t.At - frozenAt).TotalSeconds:0.000} s -> {t.To}"));
        }
    }

    private static string Since(TimeSpan at, TimeSpan origin)
        => at == TimeSpan.MaxValue ? "never" : string.Create(CultureInfo.InvariantCulture, $"{(at - origin).TotalMilliseconds:0} ms");

    private static void Row(string phase, Call[] calls)
    {
        var d = calls.Select(c => c.Duration.TotalMilliseconds).Order().ToArray();
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"| {phase} | {calls.Length:N0} | {calls.Count(c => !c.Ok):N0} | {P(d, 0.5):0.000} | {P(d, 0.99):0.000} | {d.DefaultIfEmpty().Max():0.000} |"));
    }

    private static ServiceProvider Build(TestServer server)
    {
        var services = new ServiceCollection();
        services.AddStateKit(kit => kit.UseRedis($"{server.Endpoint},abortConnect=false", o => o.KeyPrefix = "outage:" + Guid.NewGuid().ToString("N") + ":"));
        return services.BuildServiceProvider();
    }

    private static async Task<string[]> SeedAsync(ISessionStore store, int count)
    {
        var tickets = new string[count];
        var payload = new byte[PayloadBytes];
        for (var i = 0; i < count; i++)
        {
            var session = store.Open(null);
            session.SetBytes("payload", payload);
            session.SetBytes("n", [0]);
            await session.CommitAsync();
            tickets[i] = session.Ticket!;
        }

        return tickets;
    }

    private static Task RunAsync(ISessionStore store, string[] tickets, TimeSpan duration, ConcurrentBag<Call>? calls)
    {
        using var stop = new CancellationTokenSource(duration);
        return RunAsync(store, tickets, duration, calls, Stopwatch.StartNew(), stop.Token);
    }

    private static async Task RunAsync(ISessionStore store, string[] tickets, TimeSpan duration, ConcurrentBag<Call>? calls, Stopwatch clock, CancellationToken stop)
    {
        var end = clock.Elapsed + duration;
        await Task.WhenAll(tickets.Select((ticket, index) => Task.Run(async () =>
        {
            var n = (byte)0;
            while (!stop.IsCancellationRequested && clock.Elapsed < end)
            {
                var session = store.Open(ticket);
                var state = (store as ResilientSessionStore)?.CircuitBreaker.State ?? CircuitState.Closed;
                var start = clock.Elapsed;
                try
                {
                    await session.LoadAsync();
                    calls?.Add(new Call("load", start, clock.Elapsed - start, true, null, state));
                }
                catch (StateKitException e)
                {
                    calls?.Add(new Call("load", start, clock.Elapsed - start, false, e, state));

                    // A failed page: the user tries again shortly, not in a tight loop that would spin a core flat out.
                    await Task.Delay(TimeSpan.FromMilliseconds(10));
                    continue;
                }

                session.SetBytes("n", [n++]);
                start = clock.Elapsed;
                try
                {
                    await session.CommitAsync();
                    calls?.Add(new Call("commit", start, clock.Elapsed - start, true, null, state));
                    tickets[index] = session.Ticket ?? ticket;
                }
                catch (StateKitException e)
                {
                    calls?.Add(new Call("commit", start, clock.Elapsed - start, false, e, state));
                }
            }
        })));
    }

    private static double P(double[] sorted, double quantile)
        => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(quantile * sorted.Length) - 1)];

    private readonly record struct Call(string Op, TimeSpan Start, TimeSpan Duration, bool Ok, Exception? Error, CircuitState StateAtStart);
}
