using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net.Sockets;
using System.Text;
using System.Threading.Tasks;
using StackExchange.Redis;
using StackExchange.Redis.Profiling;

namespace StateKit.Benchmarks.Infrastructure;

/// <summary>
/// Measures what an operation costs the Redis server, three independent ways:
/// commands the server received from clients (a MONITOR connection; commands a Lua script runs inside are tagged
/// <c>lua</c> and not counted), round trips the client waited for (StackExchange.Redis profiling: a command sent before
/// every earlier command's reply arrived is pipelined, not a new round trip), and bytes in and out of the server
/// (<c>INFO stats</c> <c>total_net_input_bytes</c>/<c>total_net_output_bytes</c> deltas, without MONITOR attached, minus the
/// bytes of the INFO calls themselves). Housekeeping (PING, INFO, CLIENT, ...) is excluded. Alongside the bytes, the server's
/// own CPU time for the commands (<c>INFO commandstats</c> <c>usec</c> deltas; a script's time includes what it runs inside).
/// </summary>
public sealed class RedisMeter
{
    private static readonly HashSet<string> Housekeeping = new(StringComparer.OrdinalIgnoreCase)
    {
        "info", "ping", "echo", "client", "cluster", "config", "hello", "command", "subscribe", "select", "auth",
    };

    private readonly BenchRedis _redis;
    private ProfilingSession? _session;

    public RedisMeter(BenchRedis redis)
    {
        _redis = redis;
        redis.Redis.RegisterProfiler(() => _session);
    }

    public sealed record Cost(double Commands, double RoundTrips, double BytesIn, double BytesOut, double ServerMicroseconds);

    /// <summary>Runs <paramref name="action"/> <paramref name="count"/> times per pass and returns the cost of one run.</summary>
    public async Task<Cost> MeasureAsync(Func<Task> action, int count)
    {
        // Pass 1: bytes, nothing else attached.
        var calibration = await BytesAsync(() => Task.CompletedTask, 1);
        var bytes = await BytesAsync(action, count);
        var bytesIn = (bytes.In - calibration.In) / (double)count;
        var bytesOut = (bytes.Out - calibration.Out) / (double)count;
        var serverMicroseconds = bytes.Usec / (double)count;

        // Pass 2: round trips, from the client's own timings.
        long roundTrips = 0;
        for (var i = 0; i < count; i++)
        {
            _session = new ProfilingSession();
            await action();
            var commands = _session.FinishProfiling().Where(c => !Housekeeping.Contains(c.Command.Split(' ')[0])).OrderBy(c => c.CommandCreated).ToList();
            _session = null;
            roundTrips += CountRoundTrips(commands);
        }

        // Pass 3: commands, as the server saw them.
        var received = await MonitorAsync(action, count);
        return new Cost(received / (double)count, roundTrips / (double)count, Math.Max(0, bytesIn), Math.Max(0, bytesOut), serverMicroseconds);
    }

    private static int CountRoundTrips(List<IProfiledCommand> commands)
    {
        var trips = 0;
        var lastReply = DateTime.MinValue;
        foreach (var command in commands)
        {
            var sent = command.CommandCreated + command.CreationToEnqueued + command.EnqueuedToSending;
            var reply = sent + command.SentToResponse;
            if (sent >= lastReply)
            {
                trips++;
            }

            if (reply > lastReply)
            {
                lastReply = reply;
            }
        }

        return trips;
    }

    private async Task<(long In, long Out, long Usec)> BytesAsync(Func<Task> action, int count)
    {
        var before = await NetBytesAsync();
        var usecBefore = await CommandMicrosecondsAsync();
        for (var i = 0; i < count; i++)
        {
            await action();
        }

        var usecAfter = await CommandMicrosecondsAsync();
        var after = await NetBytesAsync();
        return (after.In - before.In, after.Out - before.Out, usecAfter - usecBefore);
    }

    private async Task<(long In, long Out)> NetBytesAsync()
    {
        var info = await _redis.Admin.GetServer(_redis.Server.Endpoint).InfoRawAsync("stats") ?? string.Empty;
        return (Field(info, "total_net_input_bytes"), Field(info, "total_net_output_bytes"));
    }

    /// <summary>Total server CPU microseconds over every non-housekeeping command so far (<c>cmdstat_x:calls=..,usec=..</c>).</summary>
    private async Task<long> CommandMicrosecondsAsync()
    {
        var info = await _redis.Admin.GetServer(_redis.Server.Endpoint).InfoRawAsync("commandstats") ?? string.Empty;
        long usec = 0;
        foreach (var line in info.Split('\n'))
        {
            if (!line.StartsWith("cmdstat_", StringComparison.Ordinal))
            {
                continue;
            }

            var name = line["cmdstat_".Length..line.IndexOf(':', StringComparison.Ordinal)].Split('|')[0];
            var at = line.IndexOf("usec=", StringComparison.Ordinal);
            if (Housekeeping.Contains(name) || at < 0)
            {
                continue;
            }

            var end = line.IndexOf(',', at);
            usec += long.Parse(line.AsSpan(at + 5, (end < 0 ? line.Length : end) - at - 5), CultureInfo.InvariantCulture);
        }

        return usec;
    }

    private static long Field(string info, string name)
    {
        foreach (var line in info.Split('\n'))
        {
            if (line.StartsWith(name + ":", StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan(name.Length + 1).Trim(), CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException($"INFO stats has no {name}.");
    }

    private async Task<long> MonitorAsync(Func<Task> action, int count)
    {
        if (!_redis.Server.IsRealRedis)
        {
            return -count;
        }

        using var monitor = new TcpClient();
        await monitor.ConnectAsync("127.0.0.1", _redis.Server.Port);
        var stream = monitor.GetStream();
        using var reader = new StreamReader(stream, Encoding.UTF8);
        await stream.WriteAsync("MONITOR\r\n"u8.ToArray());
        if (await reader.ReadLineAsync() != "+OK")
        {
            throw new InvalidOperationException("MONITOR was refused.");
        }

        for (var i = 0; i < count; i++)
        {
            await action();
        }

        // Everything the server received before the marker was sent by the action.
        var marker = Guid.NewGuid().ToString("N");
        await _redis.Admin.GetServer(_redis.Server.Endpoint).EchoAsync(marker);
        long received = 0;
        while (await reader.ReadLineAsync() is { } line && !line.Contains(marker, StringComparison.Ordinal))
        {
            // +1700000000.123456 [0 127.0.0.1:51234] "evalsha" "..." | +1700000000.123460 [0 lua] "hgetall" "..."
            var close = line.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                continue;
            }

            var origin = line[(line.IndexOf('[', StringComparison.Ordinal) + 1)..close];
            var command = line[(close + 3)..].Split('"')[0];
            if (!origin.EndsWith(" lua", StringComparison.Ordinal) && !Housekeeping.Contains(command))
            {
                received++;
            }
        }

        return received;
    }
}
