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

    /// <summary>Runs <paramref name="action"/> and returns (commands the server received, commands the client sent).</summary>
    public async Task<(long Server, int Client)> CountAsync(Func<Task> action)
    {
        if (!_fixture.Server.IsRealRedis)
        {
            return (-1, await ClientCountAsync(action));
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

        return (received, sent);
    }

    private async Task<int> ClientCountAsync(Func<Task> action)
    {
        _session = new ProfilingSession();
        await action();
        var sent = _session.FinishProfiling().Count(c => !Housekeeping.Contains(c.Command.Split(' ')[0]));
        _session = null;
        return sent;
    }
}
