using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net.Sockets;
using System.Text;
using System.Threading.Tasks;
using StackExchange.Redis.Profiling;

using StateKit.Redis.Testing;

namespace StateKit.Redis.Tests.Servers;

/// <summary>
/// Counts the commands an operation sends, two independent ways: what the server received from clients (a <c>MONITOR</c>
/// connection; commands a Lua script runs inside are tagged <c>lua</c> and not counted, because they cost no round trip)
/// and what the client sent (StackExchange.Redis profiling). Housekeeping (PING/ECHO heartbeats, INFO, CLIENT...) is excluded.
/// Garnet has no MONITOR: there only the client count is available, and the server count is reported as -1.
/// Round trips come from the client's timestamps: a command sent before an earlier command's reply arrived travelled in
/// the same round trip (pipelined); one sent after every earlier reply starts a new one.
/// </summary>
public sealed class CommandCounter
{
    private static readonly HashSet<string> Housekeeping = new(StringComparer.OrdinalIgnoreCase)
    {
        "info", "ping", "echo", "client", "cluster", "config", "hello", "command", "subscribe", "select", "auth",
    };

    private readonly RedisFixture _fixture;
    private ProfilingSession? _session;

    public CommandCounter(RedisFixture fixture)
    {
        _fixture = fixture;
        fixture.Redis.RegisterProfiler(() => _session);
    }

    /// <summary>
    /// Runs <paramref name="action"/> and returns the commands the server received, the commands the client sent, and the
    /// round trips they took.
    /// </summary>
    public async Task<(long Server, int Client, int RoundTrips)> CountAsync(Func<Task> action)
    {
        if (!_fixture.Server.IsRealRedis)
        {
            var (commands, roundTrips) = await ClientCountAsync(action);
            return (-1, commands, roundTrips);
        }

        using var monitor = new TcpClient();
        await monitor.ConnectAsync("127.0.0.1", _fixture.Server.Port);
        var stream = monitor.GetStream();
        using var reader = new StreamReader(stream, Encoding.UTF8);
        await stream.WriteAsync("MONITOR\r\n"u8.ToArray());
        Assert.Equal("+OK", await reader.ReadLineAsync());

        var sent = await ClientCountAsync(action);

        // Everything the server received before the marker was sent by the action.
        var marker = Guid.NewGuid().ToString("N");
        await _fixture.Admin.GetServer(_fixture.Server.Endpoint).EchoAsync(marker);
        long received = 0;
        while (await reader.ReadLineAsync() is { } line && !line.Contains(marker, StringComparison.Ordinal))
        {
            // +1700000000.123456 [0 127.0.0.1:51234] "evalsha" "..." | +1700000000.123460 [0 lua] "hgetall" "..."
            var close = line.IndexOf(']', StringComparison.Ordinal);
            var origin = line[(line.IndexOf('[', StringComparison.Ordinal) + 1)..close];
            var command = line[(close + 3)..].Split('"')[0];
            if (!origin.EndsWith(" lua", StringComparison.Ordinal) && !Housekeeping.Contains(command))
            {
                received++;
            }
        }

        return (received, sent.Commands, sent.RoundTrips);
    }

    private static DateTime Sent(IProfiledCommand command) => command.CommandCreated + command.CreationToEnqueued + command.EnqueuedToSending;

    private async Task<(int Commands, int RoundTrips)> ClientCountAsync(Func<Task> action)
    {
        _session = new ProfilingSession();
        await action();
        var sent = _session.FinishProfiling()
            .Where(c => !Housekeeping.Contains(c.Command.Split(' ')[0]))
            .OrderBy(Sent)
            .ToArray();
        _session = null;

        var roundTrips = 0;
        var lastReply = DateTime.MinValue;
        foreach (var command in sent)
        {
            if (Sent(command) >= lastReply)
            {
                roundTrips++;
            }

            var reply = Sent(command) + command.SentToResponse;
            lastReply = reply > lastReply ? reply : lastReply;
        }

        return (sent.Length, roundTrips);
    }
}
