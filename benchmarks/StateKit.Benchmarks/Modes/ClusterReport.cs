using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using StackExchange.Redis;
using StateKit.Benchmarks.Infrastructure;
using StateKit.Redis;
using StateKit.Redis.Testing;
using StateKit.Redis.Tests.Servers;

namespace StateKit.Benchmarks.Modes;

/// <summary>
/// <c>--cluster [seconds] [sessions] [loops]</c> (defaults 3, 10,000, 16): the Redis store over a 3-master Redis Cluster on
/// loopback, built as the tests build theirs (<c>RedisClusterSetup</c>, linked from tests/StateKit.Redis.Tests), next to a
/// standalone redis-server in the same run. On each: <c>seconds</c> idle (what the servers burn on their own: cron, and on
/// the cluster the cluster bus), then create <c>sessions</c> sessions of 4 KB, then a read-modify-write load and a
/// read-only load, each for <c>seconds</c> in 4 slices taken in turn with the standalone server's (each after a short
/// warm-up), <c>loops</c> concurrent loops each picking a random session per request. Per shard: store commands (<c>INFO commandstats</c> call deltas, which include the commands scripts run inside;
/// housekeeping and this mode's own INFO/DBSIZE left out), server CPU (<c>INFO cpu</c> user + system deltas) and keys
/// (<c>DBSIZE</c>), with busiest shard / mean. Per request: server CPU summed over the shards against the standalone
/// server's for the same load, as measured, net of the idle burn, and as the time spent executing the commands
/// (commandstats <c>usec</c>, see <see cref="NodeStats.ExecutionSeconds"/>), which leaves out the event loop's own work.
/// </summary>
/// <remarks>
/// The cross-slot check has two legs, each shown able to fail by a control:
/// <list type="number">
/// <item>The server refuses a command whose keys span slots with <c>CROSSSLOT</c>, and a script that touches a key another
/// node serves, and counts every refusal in <c>INFO errorstats</c>. The check: errorstats gained nothing on any node over the
/// whole run (creates, both loads, the sample below) but <c>NOSCRIPT</c>, the store's documented reload of a script a node
/// has not seen yet. Redis 7.0 does run a script that touches an undeclared key of another slot on the same node (the
/// control shows it), so this leg alone is not enough.</item>
/// <item>What the store sends, read back. A <c>MONITOR</c> on every node (attached only outside the measured loads: it costs
/// the server CPU) records a sample of creates, read-modify-writes, read-only loads, sign-ins that bind a user and rotate
/// the id (the rotation's documented multi-step path: export, index-add, import, commit, retire, SREM; docs/redis.md) and
/// one sign-out everywhere. MONITOR lists the commands a script ran right after the script, so each command's keys (a
/// script's <c>KEYS</c> from its <c>numkeys</c>) and every key its script touched are hashed to slots; the table lists every
/// shape sent and the most slots any one command touched, which must be 1.</item>
/// </list>
/// The control, sent on purpose at the end: a cross-slot <c>MGET</c> (refused, errorstats counts <c>CROSSSLOT</c>) and a
/// script declaring one key and reading another slot's key on the same node (run by Redis; the MONITOR leg flags it).
/// </remarks>
public static partial class ClusterReport
{
    private const int PayloadBytes = 4096;
    private const int Masters = 3;
    private const int SampleRequests = 20;
    private const int SampleSignIns = 10;
    private const int Slices = 4;

    public static async Task<int> RunAsync(string[] args)
    {
        var seconds = args.Length > 0 ? double.Parse(args[0], CultureInfo.InvariantCulture) : 3;
        var sessions = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 10_000;
        var loops = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 16;
        if (!RedisServerAvailability.IsOnPath)
        {
            Console.Error.WriteLine("--cluster needs a real Redis Cluster: " + RedisServerAvailability.MissingMessage);
            return 1;
        }

        var nodes = new List<TestServer>();
        try
        {
            var built = Stopwatch.StartNew();
            await RedisClusterSetup.StartNodesAsync(nodes, Masters, ["--cluster-node-timeout", "5000"]);
            await RedisClusterSetup.CreateAsync(nodes, replicasPerMaster: 0, TimeSpan.FromSeconds(15));
            var buildSeconds = built.Elapsed.TotalSeconds;
            await using var app = await ConnectionMultiplexer.ConnectAsync(RedisClusterSetup.Configuration(nodes));
            await using var admin = await RedisClusterSetup.ConnectAdminAsync(nodes);
            await using var standalone = await BenchRedis.StartAsync();
            var cluster = new Target("cluster", app, admin, [.. nodes.Select(n => n.Endpoint)]);
            var single = new Target("standalone", standalone.Redis, standalone.Admin, [standalone.Server.Endpoint]);
            var runBefore = await cluster.ReadAsync();

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Redis Cluster: {Masters} masters, no replicas (redis-server, built in {buildSeconds:0.0} s) on {string.Join(", ", cluster.Endpoints)}; standalone redis-server on {standalone.Server.Endpoint}."));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{sessions:N0} sessions of {PayloadBytes:N0} B on each; {loops} concurrent loops, a random session per request, {seconds} s per load in {Slices} slices taken in turn with the other target, each after a warm-up; client and servers share this machine."));
            Console.WriteLine();

            var shape = new SessionShape(PayloadBytes);
            await cluster.WarmUpAsync(shape, loops);
            await single.WarmUpAsync(shape, loops);
            var idle = (await cluster.IdleAsync(TimeSpan.FromSeconds(seconds)), await single.IdleAsync(TimeSpan.FromSeconds(seconds)));
            var phases = new List<(Phase Cluster, Phase Standalone)>
            {
                (await cluster.CreateAsync(shape, sessions, loops), await single.CreateAsync(shape, sessions, loops)),
            };
            foreach (var load in (Load[])[Load.ReadModifyWrite, Load.ReadOnly])
            {
                // Slices taken in turn, so that both targets see the same machine: here other builds share the 2 cores.
                var slice = TimeSpan.FromSeconds(seconds / Slices);
                var (onCluster, onSingle) = (await cluster.RunAsync(load, shape, loops, slice), await single.RunAsync(load, shape, loops, slice));
                for (var i = 1; i < Slices; i++)
                {
                    (onCluster, onSingle) = (onCluster.Plus(await cluster.RunAsync(load, shape, loops, slice)), onSingle.Plus(await single.RunAsync(load, shape, loops, slice)));
                }

                phases.Add((onCluster, onSingle));
            }

            await PrintShardsAsync(cluster, phases.Select(p => p.Cluster).ToList());
            PrintPerRequest(phases, idle);
            var sample = await SampleAsync(cluster, shape);
            var run = (await cluster.ReadAsync()).Zip(runBefore, (after, before) => after.Since(before)).ToArray();
            PrintSlots(cluster, sample, run);
            await PrintControlAsync(cluster);
            return 0;
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }
        }
    }

    private enum Load
    {
        Idle,
        Create,
        ReadModifyWrite,
        ReadOnly,
    }

    private static async Task PrintShardsAsync(Target cluster, List<Phase> phases)
    {
        var slots = await cluster.SlotsAsync();
        Console.WriteLine("Per shard (commands: INFO commandstats calls, including the commands scripts run inside; CPU: INFO cpu user + sys):");
        Console.WriteLine();
        Console.WriteLine("| load | shard | slots | keys at end | commands | EVALSHA | server CPU ms |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|");
        foreach (var phase in phases)
        {
            for (var i = 0; i < cluster.Endpoints.Length; i++)
            {
                var node = phase.Nodes[i];
                Console.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"| {Name(phase.Load)} | {cluster.Endpoints[i]} | {slots[i]:N0} | {node.Keys:N0} | {node.StoreCommands:N0} | {node.Calls.GetValueOrDefault("evalsha"):N0} | {node.CpuSeconds * 1e3:0.0} |"));
            }
        }

        Console.WriteLine();
        Console.WriteLine("| load | keys, busiest / mean | commands, busiest / mean | server CPU, busiest / mean | target |");
        Console.WriteLine("|---|---:|---:|---:|---|");
        foreach (var phase in phases)
        {
            var keys = Skew(phase.Nodes.Select(n => (double)n.Keys));
            var commands = Skew(phase.Nodes.Select(n => (double)n.StoreCommands));
            var cpu = Skew(phase.Nodes.Select(n => n.CpuSeconds));
            var met = commands <= 1.15 && cpu <= 1.15 ? "<= 1.15x: met" : "<= 1.15x: missed";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {Name(phase.Load)} | {keys:0.000}x | {commands:0.000}x | {cpu:0.000}x | {met} |"));
        }

        Console.WriteLine();
    }

    private static void PrintPerRequest(List<(Phase Cluster, Phase Standalone)> phases, (Phase Cluster, Phase Standalone) idle)
    {
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"Per request (cluster: summed over the 3 shards; standalone: one redis-server, same load, same run). Idle, the cluster burns {idle.Cluster.CpuPerSecond * 1e3:0.0} ms of CPU per second, the standalone server {idle.Standalone.CpuPerSecond * 1e3:0.0} ms; net = minus that:"));
        Console.WriteLine();
        Console.WriteLine("| load | requests/s cluster | requests/s standalone | commands/request cluster | commands/request standalone | server CPU µs/request cluster | server CPU µs/request standalone | cluster / standalone CPU | net µs/request cluster | net µs/request standalone | net cluster / standalone | executing commands µs/request cluster / standalone | sys share cluster / standalone | failed requests |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var (cluster, single) in phases)
        {
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"| {Name(cluster.Load)} | {cluster.Rate:N0} | {single.Rate:N0} | {cluster.CommandsPerRequest:0.00} | {single.CommandsPerRequest:0.00} | {cluster.CpuPerRequest:0.0} | {single.CpuPerRequest:0.0} | {cluster.CpuPerRequest / single.CpuPerRequest:0.00}x | {cluster.NetCpuPerRequest(idle.Cluster):0.0} | {single.NetCpuPerRequest(idle.Standalone):0.0} | {cluster.NetCpuPerRequest(idle.Cluster) / single.NetCpuPerRequest(idle.Standalone):0.00}x | {cluster.ExecutionPerRequest:0.0} / {single.ExecutionPerRequest:0.0} | {cluster.SysShare:P0} / {single.SysShare:P0} | {cluster.Failures} / {single.Failures} |"));
        }

        Console.WriteLine();
    }

    /// <summary>Sends the sample under MONITOR: creates, read-modify-writes, read-only loads, sign-ins with rotation, a sign-out everywhere.</summary>
    private static async Task<IReadOnlyList<MonitorCapture.Command>> SampleAsync(Target cluster, SessionShape shape)
    {
        var capture = await MonitorCapture.StartAsync(cluster.Endpoints);
        for (var i = 0; i < SampleRequests; i++)
        {
            await cluster.CreateOneAsync(shape);
            await cluster.RequestAsync(Load.ReadModifyWrite, shape, i);
            await cluster.RequestAsync(Load.ReadOnly, shape, i);
        }

        // Distinct sessions: a ticket drawn twice would name an id the first sign-in rotated away (nothing to commit).
        var picks = Enumerable.Range(0, cluster.Tickets.Length).OrderBy(_ => Random.Shared.Next()).Take(SampleSignIns).ToArray();
        for (var i = 0; i < picks.Length; i++)
        {
            var session = new StateSession(cluster.Store, cluster.Tickets[picks[i]]);
            await session.LoadAsync();
            session.BindUser("user" + (i % 3).ToString(CultureInfo.InvariantCulture));
            session.RotateId();
            var result = await session.CommitAsync();
            if (result.Outcome != SessionCommitOutcome.Committed)
            {
                throw new InvalidOperationException($"A sample sign-in with rotation ended {result.Outcome}.");
            }
        }

        await cluster.Store.RevokeUserAsync("user0");
        return await capture.StopAsync(cluster.Admin);
    }

    private static void PrintSlots(Target cluster, IReadOnlyList<MonitorCapture.Command> sample, NodeStats[] run)
    {
        var spanning = 0;
        var multiKey = 0;
        var shapes = new Dictionary<string, (int Count, HashSet<string> Nodes, SortedSet<string> Inside, int MaxSlots)>(StringComparer.Ordinal);
        foreach (var command in sample)
        {
            var keys = Keys(command.Words);
            var slots = Slots(cluster.App, command);
            multiKey += keys.Length > 1 ? 1 : 0;
            spanning += slots > 1 ? 1 : 0;
            var name = command.Words[0] is "evalsha" ? $"EVALSHA {command.Words[1][..8]}…" : command.Words[0].ToUpperInvariant();
            var key = $"{name} | {string.Join(" ", keys.Select(KeyShape))}";
            if (!shapes.TryGetValue(key, out var seen))
            {
                seen = (0, new HashSet<string>(StringComparer.Ordinal), new SortedSet<string>(StringComparer.Ordinal), 0);
            }

            seen.Nodes.Add(command.Endpoint);
            seen.Inside.UnionWith(command.Inner.SelectMany(Keys).Select(KeyShape));
            shapes[key] = (seen.Count + 1, seen.Nodes, seen.Inside, Math.Max(seen.MaxSlots, slots));
        }

        // NOSCRIPT is the store's documented reload path (docs/redis.md, Failure): the first EVALSHA of each script on each
        // node is refused and sent again as EVAL. Anything else would be a finding.
        var other = run.Select((n, i) => (Endpoint: cluster.Endpoints[i], Errors: n.Errors.Where(e => e.Key != "NOSCRIPT").ToList())).Where(n => n.Errors.Count > 0).ToList();
        var noScript = run.Sum(n => n.Errors.GetValueOrDefault("NOSCRIPT"));
        var commands = run.SelectMany(n => n.Calls).Where(c => c.Value > 0 && !NodeStats.Housekeeping.Contains(c.Key)).Select(c => c.Key).Distinct(StringComparer.OrdinalIgnoreCase).Order(StringComparer.Ordinal);
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"Cross-slot check. (1) INFO errorstats gained over the whole run, every node: {(other.Count == 0 ? "no CROSSSLOT and no other error" : string.Join("; ", other.Select(n => n.Endpoint + " " + string.Join(",", n.Errors.Select(e => e.Key + "=" + e.Value)))))}, besides {noScript} NOSCRIPT (a script's first use on a node, sent again as EVAL). Commands in INFO commandstats over the run, all nodes, scripts' inner ones included: {string.Join(", ", commands)}."));
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"(2) MONITOR on every node over a sample ({SampleRequests} creates, read-modify-writes and read-only loads; {SampleSignIns} sign-ins binding a user and rotating the id; one sign-out everywhere): {sample.Count} commands sent by the store, {multiKey} with more than one key, {spanning} whose keys, or the keys their script touched, span slots."));
        Console.WriteLine();
        Console.WriteLine("| command (script by SHA-1) | keys (prefix left out; {…} is the hash tag) | keys the script touched | sent | nodes | most slots in one command |");
        Console.WriteLine("|---|---|---|---:|---:|---:|");
        foreach (var (shape, seen) in shapes.OrderByDescending(s => s.Value.Count))
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {shape} | {string.Join(" ", seen.Inside)} | {seen.Count} | {seen.Nodes.Count} | {seen.MaxSlots} |"));
        }

        Console.WriteLine();
    }

    /// <summary>
    /// Proves legs (1) and (2) can fail: a cross-slot MGET, which the server refuses (errorstats), and a script declaring one
    /// key and touching another slot's key on the same node, which Redis 7.0 runs (so errorstats cannot see it) and MONITOR does.
    /// </summary>
    private static async Task PrintControlAsync(Target cluster)
    {
        var first = (RedisKey)"control:{a}";
        var endpoint = cluster.App.GetDatabase().IdentifyEndpoint(first)!;
        var other = Enumerable.Range(0, 1000).Select(i => (RedisKey)$"control:{{b{i}}}")
            .First(k => cluster.App.HashSlot(k) != cluster.App.HashSlot(first) && Equals(cluster.App.GetDatabase().IdentifyEndpoint(k), endpoint));
        var server = cluster.Admin.GetServer(endpoint);
        var name = EndPointCollection.ToString(endpoint);
        var index = Array.IndexOf(cluster.Endpoints, name);
        var before = (await cluster.ReadAsync())[index];
        var capture = await MonitorCapture.StartAsync([name]);
        var replies = new List<string>();
        foreach (var (command, words) in (IEnumerable<(string, object[])>)
            [
                ("MGET", [(string)first!, (string)other!]),
                ("EVAL", ["return redis.call('GET', ARGV[1])", 1, (string)first!, (string)other!]),
            ])
        {
            try
            {
                await server.ExecuteAsync(command, words);
                replies.Add(command + " accepted");
            }
            catch (RedisServerException e)
            {
                replies.Add($"{command} refused \"{e.Message}\"");
            }
        }

        var seen = await capture.StopAsync(cluster.Admin);
        var gained = (await cluster.ReadAsync())[index].Since(before).Errors;
        var flagged = seen.Select(c => $"{c.Words[0].ToUpperInvariant()} {Slots(cluster.App, c)} slots");
        Console.WriteLine($"(3) Control, sent on purpose to {name}: {string.Join("; ", replies)}. errorstats gained: {string.Join(", ", gained.Select(e => e.Key + "=" + e.Value))}. MONITOR check: {string.Join(", ", flagged)}.");
    }

    /// <summary>Distinct slots of a command's keys and of every key the commands its script ran touched.</summary>
    private static int Slots(IConnectionMultiplexer cluster, MonitorCapture.Command command)
        => Keys(command.Words).Concat(command.Inner.SelectMany(Keys)).Select(k => cluster.HashSlot(k)).Distinct().Count();

    private static RedisKey[] Keys(string[] words) => words[0] switch
    {
        "eval" or "evalsha" or "eval_ro" or "evalsha_ro" or "fcall" or "fcall_ro" =>
            [.. words.Skip(3).Take(int.Parse(words[2], CultureInfo.InvariantCulture)).Select(w => (RedisKey)w)],
        "del" or "unlink" or "exists" or "touch" or "watch" or "mget" or "sinter" or "sunion" or "sdiff" => [.. words.Skip(1).Select(w => (RedisKey)w)],
        "mset" or "msetnx" => [.. words.Skip(1).Where((_, i) => i % 2 == 0).Select(w => (RedisKey)w)],
        "multi" or "exec" or "discard" or "script" => [],
        _ => words.Length > 1 ? [(RedisKey)words[1]] : [],
    };

    private static string KeyShape(RedisKey key) => HashTag().Replace(BenchPrefix().Replace(key.ToString(), string.Empty), "{…}");

    private static double Skew(IEnumerable<double> values)
    {
        var all = values.ToArray();
        return all.Average() is var mean and > 0 ? all.Max() / mean : 0;
    }

    private static string Name(Load load) => load switch
    {
        Load.Idle => "idle",
        Load.Create => "create",
        Load.ReadModifyWrite => "read-modify-write",
        _ => "read-only",
    };

    [GeneratedRegex(@"\{[^}]*\}")]
    private static partial Regex HashTag();

    [GeneratedRegex("^bench:[0-9a-f]{8}:")]
    private static partial Regex BenchPrefix();

    /// <summary>One load's outcome on one target: requests, what each node did meanwhile, failures.</summary>
    private sealed record Phase(Load Load, long Requests, double Seconds, NodeStats[] Nodes, long Failures)
    {
        public double Rate => Requests / Seconds;

        public double CommandsPerRequest => Nodes.Sum(n => n.StoreCommands) / (double)Math.Max(1, Requests);

        public double CpuPerRequest => Nodes.Sum(n => n.CpuSeconds) * 1e6 / Math.Max(1, Requests);

        /// <summary>This phase and a later slice of the same load on the same target, as one.</summary>
        public Phase Plus(Phase later) => this with
        {
            Requests = Requests + later.Requests,
            Seconds = Seconds + later.Seconds,
            Nodes = [.. Nodes.Zip(later.Nodes, (a, b) => a.Plus(b))],
            Failures = Failures + later.Failures,
        };

        public double CpuPerSecond => Nodes.Sum(n => n.CpuSeconds) / Seconds;

        /// <summary>Server CPU per request less what the servers burn idle over as long (<paramref name="idle"/>).</summary>
        public double NetCpuPerRequest(Phase idle) => (Nodes.Sum(n => n.CpuSeconds) - (idle.CpuPerSecond * Seconds)) * 1e6 / Math.Max(1, Requests);

        /// <summary>Gets the server's time executing EVALSHA, EVAL and HGETALL per request (commandstats), without the event loop's.</summary>
        public double ExecutionPerRequest => Nodes.Sum(n => n.ExecutionSeconds) * 1e6 / Math.Max(1, Requests);

        /// <summary>Gets the part of the server CPU spent in the kernel (socket reads and writes, epoll).</summary>
        public double SysShare => Nodes.Sum(n => n.SysSeconds) / Math.Max(1e-9, Nodes.Sum(n => n.CpuSeconds));
    }

    /// <summary>A Redis deployment (the cluster's masters, or one standalone server) with its own store and sessions.</summary>
    private sealed class Target(string name, IConnectionMultiplexer app, IConnectionMultiplexer admin, string[] endpoints)
    {
        public string Name { get; } = name;

        public IConnectionMultiplexer App { get; } = app;

        public IConnectionMultiplexer Admin { get; } = admin;

        public string[] Endpoints { get; } = endpoints;

        public RedisSessionStore Store { get; } = Strategies.RedisStore(app);

        public string[] Tickets { get; private set; } = [];

        public async Task<NodeStats[]> ReadAsync() => await Task.WhenAll(Endpoints.Select(e => NodeStats.ReadAsync(Admin.GetServer(e))));

        /// <summary>Slots each endpoint serves (<c>CLUSTER NODES</c>).</summary>
        public async Task<int[]> SlotsAsync()
        {
            var config = await Admin.GetServer(Endpoints[0]).ClusterNodesAsync();
            return [.. Endpoints.Select(e => config!.Nodes.First(n => EndPointCollection.ToString(n.EndPoint) == e).Slots.Sum(r => r.To - r.From + 1))];
        }

        public async Task<Phase> CreateAsync(SessionShape shape, int sessions, int loops)
        {
            var tickets = new string[sessions];
            var next = -1;
            var before = await ReadAsync();
            var clock = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, loops).Select(_ => Task.Run(async () =>
            {
                for (var i = Interlocked.Increment(ref next); i < sessions; i = Interlocked.Increment(ref next))
                {
                    tickets[i] = await NewSessionAsync(shape);
                }
            })));
            var elapsed = clock.Elapsed.TotalSeconds;
            Tickets = tickets;
            return new Phase(Load.Create, sessions, elapsed, Delta(await ReadAsync(), before), 0);
        }

        /// <summary>Creates, reads, changes and revokes a few sessions, leaving no key behind.</summary>
        public async Task WarmUpAsync(SessionShape shape, int loops)
        {
            await Task.WhenAll(Enumerable.Range(0, loops).Select(_ => Task.Run(async () =>
            {
                var ticket = await NewSessionAsync(shape);
                for (var i = 0; i < 5; i++)
                {
                    var session = new StateSession(Store, ticket);
                    await session.LoadAsync();
                    session.SetBytes(SessionShape.CartKey, i % 2 == 0 ? shape.CartA : shape.CartB);
                    await session.CommitAsync();
                }

                await Store.RevokeAsync(ticket);
            })));
        }

        public async Task<Phase> IdleAsync(TimeSpan duration)
        {
            var before = await ReadAsync();
            var clock = Stopwatch.StartNew();
            await Task.Delay(duration, TimeProvider.System);
            var elapsed = clock.Elapsed.TotalSeconds;
            return new Phase(Load.Idle, 0, elapsed, Delta(await ReadAsync(), before), 0);
        }

        public async Task CreateOneAsync(SessionShape shape) => await NewSessionAsync(shape);

        public async Task<Phase> RunAsync(Load load, SessionShape shape, int loops, TimeSpan duration)
        {
            long completed = 0;
            long failed = 0;
            var measuring = 0;
            using var stop = new CancellationTokenSource();
            var workers = Enumerable.Range(0, loops).Select(loop => Task.Run(async () =>
            {
                for (var n = loop; !stop.IsCancellationRequested; n++)
                {
                    var ok = await RequestAsync(load, shape, n);
                    if (Volatile.Read(ref measuring) == 1)
                    {
                        Interlocked.Increment(ref ok ? ref completed : ref failed);
                    }
                }
            })).ToArray();

            await Task.Delay(TimeSpan.FromSeconds(Math.Min(0.25, duration.TotalSeconds)), TimeProvider.System);
            var before = await ReadAsync();
            var clock = Stopwatch.StartNew();
            Volatile.Write(ref measuring, 1);
            await Task.Delay(duration, TimeProvider.System);
            Volatile.Write(ref measuring, 0);
            var elapsed = clock.Elapsed.TotalSeconds;
            var after = await ReadAsync();
            await stop.CancelAsync();
            await Task.WhenAll(workers);
            return new Phase(load, Interlocked.Read(ref completed), elapsed, Delta(after, before), Interlocked.Read(ref failed));
        }

        /// <summary>One request on a random session; <see langword="false"/> when the session was gone or the commit refused.</summary>
        public async Task<bool> RequestAsync(Load load, SessionShape shape, int n)
        {
            var session = new StateSession(Store, Tickets[Random.Shared.Next(Tickets.Length)]);
            await session.LoadAsync();
            if (!session.TryGetBytes(SessionShape.CartKey, out _))
            {
                return false;
            }

            if (load == Load.ReadModifyWrite)
            {
                session.SetBytes(SessionShape.CartKey, n % 2 == 0 ? shape.CartA : shape.CartB);
            }

            var result = await session.CommitAsync();
            return load == Load.ReadOnly || result.Outcome == SessionCommitOutcome.Committed;
        }

        private static NodeStats[] Delta(NodeStats[] after, NodeStats[] before) => [.. after.Zip(before, (a, b) => a.Since(b))];

        private async Task<string> NewSessionAsync(SessionShape shape)
        {
            var session = new StateSession(Store, null);
            foreach (var (key, value) in shape.All())
            {
                session.SetBytes(key, value);
            }

            var result = await session.CommitAsync();
            return result.Ticket ?? throw new InvalidOperationException($"Creating a session on the {Name} returned no ticket ({result.Outcome}).");
        }
    }
}
