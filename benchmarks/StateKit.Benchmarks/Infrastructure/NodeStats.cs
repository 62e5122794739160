using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading.Tasks;
using StackExchange.Redis;

namespace StateKit.Benchmarks.Infrastructure;

/// <summary>
/// What one redis-server says about itself at one moment: <c>INFO cpu</c> (user + system seconds, and system alone), <c>INFO commandstats</c>
/// (calls per command, which on Redis 7 include the commands scripts run inside), <c>INFO errorstats</c> (errors per
/// prefix, e.g. <c>CROSSSLOT</c>) and <c>DBSIZE</c>. Subtracting two readings gives what happened in between.
/// <see cref="ExecutionSeconds"/> is the time the server spent executing the commands a session store sends itself
/// (commandstats <c>usec</c> of EVALSHA, EVAL and HGETALL; a script's includes what it runs inside): the server CPU
/// without the event loop's own (reading sockets, parsing, writing replies, waking up).
/// </summary>
public sealed record NodeStats(double CpuSeconds, double SysSeconds, double ExecutionSeconds, IReadOnlyDictionary<string, long> Calls, IReadOnlyDictionary<string, long> Errors, long Keys)
{
    /// <summary>Commands a client library sends for its own upkeep, and this benchmark's own INFO/DBSIZE: not the store's.</summary>
    public static readonly HashSet<string> Housekeeping = new(StringComparer.OrdinalIgnoreCase)
    {
        "info", "ping", "echo", "client", "cluster", "config", "hello", "command", "subscribe", "select", "auth", "dbsize", "monitor",
    };

    private static readonly string[] Sent = ["evalsha", "eval", "hgetall"];

    /// <summary>Gets the calls of every command but housekeeping.</summary>
    public long StoreCommands => Calls.Where(c => !Housekeeping.Contains(c.Key)).Sum(c => c.Value);

    public static async Task<NodeStats> ReadAsync(IServer server)
    {
        var cpu = Fields(await server.InfoRawAsync("cpu") ?? string.Empty);
        var commands = Fields(await server.InfoRawAsync("commandstats") ?? string.Empty);
        var errors = Fields(await server.InfoRawAsync("errorstats") ?? string.Empty);
        var sys = Number(cpu.GetValueOrDefault("used_cpu_sys", "0"));
        var seconds = Number(cpu.GetValueOrDefault("used_cpu_user", "0")) + sys;

        // cmdstat_hgetall:calls=12,usec=...; a subcommand reads cmdstat_cluster|nodes and counts under its command.
        var calls = commands
            .GroupBy(c => c.Key["cmdstat_".Length..].Split('|')[0], StringComparer.OrdinalIgnoreCase)
            .ToDictionary(g => g.Key, g => g.Sum(c => Count(c.Value, "calls")), StringComparer.OrdinalIgnoreCase);

        var execution = commands.Where(c => Sent.Contains(c.Key["cmdstat_".Length..], StringComparer.OrdinalIgnoreCase)).Sum(c => Count(c.Value, "usec")) / 1e6;

        // errorstat_CROSSSLOT:count=1
        var errorCounts = errors.ToDictionary(e => e.Key["errorstat_".Length..], e => Count(e.Value, "count"), StringComparer.Ordinal);
        return new NodeStats(seconds, sys, execution, calls, errorCounts, await server.DatabaseSizeAsync());
    }

    /// <summary>What happened between <paramref name="before"/> and this reading (keys are this reading's).</summary>
    public NodeStats Since(NodeStats before) => new(
        CpuSeconds - before.CpuSeconds,
        SysSeconds - before.SysSeconds,
        ExecutionSeconds - before.ExecutionSeconds,
        Calls.ToDictionary(c => c.Key, c => c.Value - before.Calls.GetValueOrDefault(c.Key), StringComparer.OrdinalIgnoreCase),
        Errors.Select(e => (e.Key, Value: e.Value - before.Errors.GetValueOrDefault(e.Key))).Where(e => e.Value != 0)
            .ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal),
        Keys);

    /// <summary>Two deltas of the same node, one after the other, as one (keys are the later's).</summary>
    public NodeStats Plus(NodeStats later) => new(
        CpuSeconds + later.CpuSeconds,
        SysSeconds + later.SysSeconds,
        ExecutionSeconds + later.ExecutionSeconds,
        Calls.Concat(later.Calls).GroupBy(c => c.Key, StringComparer.OrdinalIgnoreCase).ToDictionary(g => g.Key, g => g.Sum(c => c.Value), StringComparer.OrdinalIgnoreCase),
        Errors.Concat(later.Errors).GroupBy(e => e.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Sum(e => e.Value), StringComparer.Ordinal),
        later.Keys);

    private static Dictionary<string, string> Fields(string info) => info
        .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .Where(line => !line.StartsWith('#') && line.Contains(':', StringComparison.Ordinal))
        .ToDictionary(line => line[..line.IndexOf(':', StringComparison.Ordinal)], line => line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..], StringComparer.Ordinal);

    private static long Count(string fields, string name)
    {
        foreach (var field in fields.Split(','))
        {
            if (field.StartsWith(name + "=", StringComparison.Ordinal))
            {
                return long.Parse(field.AsSpan(name.Length + 1), CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }

    private static double Number(string value) => double.Parse(value, CultureInfo.InvariantCulture);
}
