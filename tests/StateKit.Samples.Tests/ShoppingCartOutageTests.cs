using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using StateKit.Redis.Testing;
using StateKit.Testing;
using Xunit.Abstractions;

namespace StateKit.Samples.Tests;

/// <summary>
/// Issue 14 item 2, the sample under fire: the ShoppingCart sample with <c>--store redis</c> (plain <c>UseRedis</c>, no
/// resilience options) as a real process, shoppers adding over real HTTP with cookies, while its redis-server is first
/// frozen (SIGSTOP, then SIGCONT) and then killed (SIGKILL) and restarted on the same port with its append-only file.
/// Every loop is bounded, every wait polls a real state with a cap; the fault lengths are the scenario, not synchronisation.
/// </summary>
public sealed class ShoppingCartOutageTests(ITestOutputHelper output)
{
    private const int ShopperCount = 8;
    private const int MaxAddsPerShopper = 5_000;
    private static readonly TimeSpan Pace = TimeSpan.FromMilliseconds(20);

    // The faults' shortest lengths; each also lasts until the breaker has opened.
    private static readonly TimeSpan FreezeFor = TimeSpan.FromSeconds(4);
    private static readonly TimeSpan DeadFor = TimeSpan.FromSeconds(1);

    // What UseRedis bounds a store call by, by default (RedisDefaults.OperationTimeout, issue 14: fail fast). A request
    // makes at most one call that can wait it out before failing.
    private static readonly TimeSpan ConfiguredTimeout = TimeSpan.FromMilliseconds(500);

    // The scheduler's share of a busy, shared 2-core box (the sample, redis-server, 8 shoppers and other builds on it):
    // generous, and the measured figure is printed next to it.
    private static readonly TimeSpan Margin = TimeSpan.FromSeconds(1.5);

    // Far above any bound: a request still unanswered then is a hang, recorded as a failure with no status.
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan RecoveryCap = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan OpenCap = TimeSpan.FromSeconds(20);

    private static readonly Regex Opened = new(@"The circuit of store \S+ opened", RegexOptions.CultureInvariant);
    private static readonly Regex Closed = new(@"The circuit of store \S+ closed", RegexOptions.CultureInvariant);

    [OutageFact]
    public async Task RedisFrozenThenKilled_UnderHttpLoad_NoAcknowledgedAddLost_FailuresAre503_BreakerOpensAndCloses()
    {
        // fsync on every write: what Redis acknowledged survives SIGKILL, so "reported saved" can be checked after it.
        await using var redis = await TestServer.StartRedisAsync(["--appendonly", "yes", "--appendfsync", "always"]);
        await using var app = await Repository.StartSampleAsync(
            "ShoppingCart", Repository.FreePort(), ["--store", "redis", "--ConnectionStrings:redis=" + redis.Endpoint]);

        var clock = Stopwatch.StartNew();
        var shoppers = Enumerable.Range(0, ShopperCount).Select(i => new Shopper(i, app.BaseAddress, ClientTimeout)).ToList();
        using var health = new HealthMonitor(app.BaseAddress);
        using var stop = new CancellationTokenSource();
        try
        {
            var monitoring = Task.Run(() => health.RunAsync(clock, TimeSpan.FromMilliseconds(100), 2_000, stop.Token));
            var running = shoppers.Select(s => Task.Run(() => s.RunAsync(clock, MaxAddsPerShopper, Pace, stop.Token))).ToArray();
            var failedWaits = new List<string>();

            // Warm-up: every shopper has a session in Redis before anything breaks.
            if (!await WaitUntilAsync(() => shoppers.All(s => s.Adds.Count(a => a.Succeeded) >= 3), RecoveryCap))
            {
                throw new TimeoutException($"The shoppers did not get 3 adds each through with Redis up within {RecoveryCap.TotalSeconds} s:\n{app.Output}");
            }

            // Each fault lasts its minimum and until /health shows the breaker open (capped): how long that takes is what
            // requests pay before failing fast, and it depends on the traffic the window already holds.
            var freeze = new Outage("freeze", "SIGSTOP, SIGCONT", clock.Elapsed, app.Output.Length);
            redis.Freeze();
            await HoldUntilOpenAsync(freeze, FreezeFor, clock, health, failedWaits);
            redis.Thaw();
            freeze.EndedAt = clock.Elapsed;
            await RecoverAsync(freeze, shoppers, clock, health, failedWaits);

            var kill = new Outage("kill", "kill -9, restart on the same port with the AOF", clock.Elapsed, app.Output.Length);
            freeze.LogEnd = kill.LogStart;
            await redis.KillAsync();
            await HoldUntilOpenAsync(kill, DeadFor, clock, health, failedWaits);
            await redis.RestartAsync();
            kill.EndedAt = clock.Elapsed;
            await RecoverAsync(kill, shoppers, clock, health, failedWaits);

            await stop.CancelAsync();
            await Task.WhenAll(running);
            await monitoring;
            var endedAt = clock.Elapsed;

            // The console logger writes on its own thread: let it catch up with every transition before reading it.
            await WaitUntilAsync(() => Closed.Count(app.Output) >= Opened.Count(app.Output), TimeSpan.FromSeconds(5));
            kill.LogEnd = app.Output.Length;

            // Acknowledged writes: each shopper's cart must hold at least every add that got a 2xx. More is allowed: a
            // failed request's write may still have reached Redis (its outcome is unknown to the client).
            var carts = new List<(Shopper Shopper, int Acknowledged, int Failed, int? Tea, int Status)>();
            foreach (var shopper in shoppers)
            {
                (int? Tea, int Status) read = (null, 0);
                await WaitUntilAsync(
                    async () =>
                    {
                        read = await shopper.ReadTeaAsync();
                        return read.Tea is not null;
                    },
                    RecoveryCap);
                carts.Add((shopper, shopper.Adds.Count(a => a.Succeeded), shopper.Adds.Count(a => !a.Succeeded), read.Tea, read.Status));
            }

            var adds = shoppers.SelectMany(s => s.Adds).ToList();
            var violations = new List<string>(failedWaits);
            var lost = carts.Sum(c => Math.Max(0, c.Acknowledged - (c.Tea ?? 0)));
            violations.AddRange(carts.Where(c => c.Tea is null).Select(c => $"shopper {c.Shopper.Index}: the cart could not be read after recovery (HTTP {c.Status})"));
            violations.AddRange(carts.Where(c => c.Tea < c.Acknowledged).Select(c => $"shopper {c.Shopper.Index}: {c.Acknowledged} adds got a 2xx, the cart holds {c.Tea}"));
            violations.AddRange(carts.Where(c => c.Tea > c.Acknowledged + c.Failed).Select(c => $"shopper {c.Shopper.Index}: the cart holds {c.Tea}, more than the {c.Acknowledged + c.Failed} adds sent"));

            var wrong = adds.Where(a => !a.Succeeded && !a.IsProblem503).ToList();
            violations.AddRange(wrong.GroupBy(a => (a.Status, a.ContentType)).Select(g =>
                $"{g.Count()} failed adds were not a 503 with problem details: got {Describe(g.First())} (first at {Seconds(g.First().Started)})"));

            // The bound holds from the first fault on. The warm-up's first requests pay the sample's JIT and its first
            // connection to Redis on a cold thread pool; the report shows them apart.
            var underFire = adds.Where(a => a.Finished >= freeze.StartedAt).ToList();
            var slowest = underFire.MaxBy(a => a.Duration)!;
            if (slowest.Duration > ConfiguredTimeout + Margin)
            {
                var over = underFire.Count(a => a.Duration > ConfiguredTimeout + Margin);
                violations.Add($"{over} adds took longer than the timeout {Millis(ConfiguredTimeout)} + margin {Millis(Margin)}; the longest took {Millis(slowest.Duration)} ({Describe(slowest)}, started at {Seconds(slowest.Started)})");
            }

            foreach (var outage in new[] { freeze, kill })
            {
                var log = app.Output[outage.LogStart..outage.LogEnd];
                outage.Opened = Opened.Count(log);
                outage.Closed = Closed.Count(log);
                if (outage.Opened == 0 || outage.Closed == 0)
                {
                    violations.Add($"{outage.Name}: the breaker did not open and close again (the sample logged {outage.Opened} 'circuit opened' and {outage.Closed} 'circuit closed')");
                }
            }

            var report = Report(freeze, kill, adds, carts.Sum(c => c.Acknowledged), lost, slowest, endedAt, health.Changes);
            output.WriteLine(report);
            Assert.True(violations.Count == 0, string.Join('\n', violations) + "\n\n" + report);
        }
        catch
        {
            // Its start and its first failures say what went wrong; hundreds of identical stack traces after them do not.
            var log = app.Output;
            output.WriteLine("Sample output:\n" + (log.Length > 20_000 ? log[..20_000] + "\n[... cut]" : log));
            throw;
        }
        finally
        {
            await stop.CancelAsync();
            shoppers.ForEach(s => s.Dispose());
        }
    }

    private static async Task HoldUntilOpenAsync(Outage outage, TimeSpan minimum, Stopwatch clock, HealthMonitor health, List<string> failedWaits)
    {
        if (await WaitUntilAsync(() => health.Current.EndsWith("circuit Open", StringComparison.Ordinal), OpenCap))
        {
            outage.SeenOpen = health.Changes.First(c => c.At >= outage.StartedAt && c.Seen.EndsWith("circuit Open", StringComparison.Ordinal)).At - outage.StartedAt;
        }
        else
        {
            failedWaits.Add($"{outage.Name}: /health never showed the circuit open within {OpenCap.TotalSeconds} s of the fault (last: {health.Current})");
        }

        var left = outage.StartedAt + minimum - clock.Elapsed;
        if (left > TimeSpan.Zero)
        {
            await Task.Delay(left, TimeProvider.System);
        }
    }

    // Recovered: every shopper got an add through that it sent after the fault ended, and /health shows the circuit
    // closed. Then a little steady traffic, so that the next fault starts from a healthy app.
    private async Task RecoverAsync(Outage outage, List<Shopper> shoppers, Stopwatch clock, HealthMonitor health, List<string> failedWaits)
    {
        if (!await WaitUntilAsync(() => shoppers.All(s => s.Adds.Any(a => a.Succeeded && a.Started >= outage.EndedAt)), RecoveryCap))
        {
            failedWaits.Add($"{outage.Name}: not every shopper got an add through within {RecoveryCap.TotalSeconds} s after the fault ended");
            return;
        }

        if (outage.SeenOpen is not null)
        {
            if (await WaitUntilAsync(() => health.Current.EndsWith("circuit Closed", StringComparison.Ordinal), RecoveryCap))
            {
                outage.SeenClosed = health.Changes.Last(c => c.Seen.EndsWith("circuit Closed", StringComparison.Ordinal)).At - outage.EndedAt;
            }
            else
            {
                failedWaits.Add($"{outage.Name}: /health did not show the circuit closed within {RecoveryCap.TotalSeconds} s after recovery (last: {health.Current})");
            }
        }

        var successes = shoppers.SelectMany(s => s.Adds).Where(a => a.Succeeded && a.Started >= outage.EndedAt).ToList();
        outage.FirstSuccess = successes.Min(a => a.Finished) - outage.EndedAt;
        outage.AllSucceeding = shoppers.Max(s => s.Adds.Where(a => a.Succeeded && a.Started >= outage.EndedAt).Min(a => a.Finished)) - outage.EndedAt;
        var steady = shoppers.Select(s => s.Adds.Count).ToArray();
        if (!await WaitUntilAsync(() => shoppers.All(s => s.Adds.Count >= steady[s.Index] + 3), RecoveryCap))
        {
            failedWaits.Add($"{outage.Name}: the shoppers did not make 3 more adds each within {RecoveryCap.TotalSeconds} s after recovering");
        }

        output.WriteLine($"{outage.Name}: {Seconds(outage.StartedAt)} to {Seconds(outage.EndedAt)} (at {Seconds(clock.Elapsed)} recovered), first 2xx add after {Millis(outage.FirstSuccess.Value)}, all shoppers after {Millis(outage.AllSucceeding.Value)}");
    }

    private static string Report(Outage freeze, Outage kill, List<AddOutcome> adds, int acknowledged, int lost, AddOutcome slowest, TimeSpan endedAt, IReadOnlyCollection<HealthChange> health)
    {
        var phases = new[] { freeze, kill };
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"| figure | warm-up | {freeze.Name}: {freeze.Fault} | {kill.Name}: {kill.Fault} | whole run |");
        text.AppendLine("|---|---|---|---|---|");
        // A request counts where its answer arrived: one sent just before a fault and stuck in it belongs to the fault.
        List<AddOutcome> In(TimeSpan from, TimeSpan to) => adds.Where(a => a.Finished >= from && a.Finished < to).ToList();
        var slices = new[] { In(TimeSpan.Zero, freeze.StartedAt), In(freeze.StartedAt, kill.StartedAt), In(kill.StartedAt, TimeSpan.MaxValue), adds };
        void Row(string name, Func<List<AddOutcome>, string> cell)
            => text.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {string.Join(" | ", slices.Select(cell))} |");
        Row("add requests", s => s.Count.ToString(CultureInfo.InvariantCulture));
        Row("2xx", s => s.Count(a => a.Succeeded).ToString(CultureInfo.InvariantCulture));
        Row("503 problem details", s => s.Count(a => a.IsProblem503).ToString(CultureInfo.InvariantCulture));
        Row("other (500, no answer, ...)", s => s.Count(a => !a.Succeeded && !a.IsProblem503).ToString(CultureInfo.InvariantCulture));
        Row("longest request", s => s.Count == 0 ? "-" : Millis(s.Max(a => a.Duration)));
        Row("p99 request", s => s.Count == 0 ? "-" : Millis(s.Select(a => a.Duration).Order().ElementAt((int)(s.Count * 0.99))));
        text.AppendLine(CultureInfo.InvariantCulture, $"| fault length (signal to SIGCONT / to the restarted server answering PING) | - | {string.Join(" | ", phases.Select(p => Millis(p.EndedAt - p.StartedAt)))} | - |");
        text.AppendLine(CultureInfo.InvariantCulture, $"| fault start → /health shows the circuit open | - | {string.Join(" | ", phases.Select(p => p.SeenOpen is { } t ? Millis(t) : "never"))} | - |");
        text.AppendLine(CultureInfo.InvariantCulture, $"| breaker opened / closed (sample log) | - | {string.Join(" | ", phases.Select(p => $"{p.Opened} / {p.Closed}"))} | - |");
        text.AppendLine(CultureInfo.InvariantCulture, $"| fault end → first 2xx add | - | {string.Join(" | ", phases.Select(p => p.FirstSuccess is { } t ? Millis(t) : "never"))} | - |");
        text.AppendLine(CultureInfo.InvariantCulture, $"| fault end → every shopper's add succeeds | - | {string.Join(" | ", phases.Select(p => p.AllSucceeding is { } t ? Millis(t) : "never"))} | - |");
        text.AppendLine(CultureInfo.InvariantCulture, $"| fault end → /health shows the circuit closed | - | {string.Join(" | ", phases.Select(p => p.SeenClosed is { } t ? Millis(t) : "never"))} | - |");
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"Acknowledged adds: {acknowledged}; missing from the final carts: {lost}. Longest request from the first fault on: {Millis(slowest.Duration)} ({Describe(slowest)}), bound {Millis(ConfiguredTimeout + Margin)}. Run: {Seconds(endedAt)} of load.");
        text.AppendLine("/health over the run: " + string.Join("; ", health.Select(h => $"{Seconds(h.At)} {h.Seen}")));
        return text.ToString();
    }

    private static string Describe(AddOutcome add) => add.Status == 0
        ? "no response: " + add.Error
        : $"HTTP {add.Status} {add.ContentType ?? "(no body type)"} after {Millis(add.Duration)}";

    private static string Millis(TimeSpan t) => t.TotalMilliseconds.ToString("#,0", CultureInfo.InvariantCulture) + " ms";

    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture) + " s";

    private static Task<bool> WaitUntilAsync(Func<bool> condition, TimeSpan cap) => WaitUntilAsync(() => Task.FromResult(condition()), cap);

    private static async Task<bool> WaitUntilAsync(Func<Task<bool>> condition, TimeSpan cap)
    {
        var waited = Stopwatch.StartNew();
        while (!await condition())
        {
            if (waited.Elapsed > cap)
            {
                return false;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50), TimeProvider.System);
        }

        return true;
    }

    private sealed class Outage(string name, string fault, TimeSpan startedAt, int logStart)
    {
        public string Name { get; } = name;

        public string Fault { get; } = fault;

        public TimeSpan StartedAt { get; } = startedAt;

        public int LogStart { get; } = logStart;

        public int LogEnd { get; set; }

        public TimeSpan EndedAt { get; set; }

        public TimeSpan? FirstSuccess { get; set; }

        public TimeSpan? AllSucceeding { get; set; }

        public TimeSpan? SeenOpen { get; set; }

        public TimeSpan? SeenClosed { get; set; }

        public int Opened { get; set; }

        public int Closed { get; set; }
    }
}
