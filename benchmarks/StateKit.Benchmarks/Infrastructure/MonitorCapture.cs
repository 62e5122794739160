using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net.Sockets;
using System.Text;
using System.Threading.Tasks;
using StackExchange.Redis;

namespace StateKit.Benchmarks.Infrastructure;

/// <summary>
/// Every command clients send to a set of redis-server nodes while it runs, from one <c>MONITOR</c> connection per node,
/// with its arguments, and the commands a script ran inside (MONITOR tags them <c>lua</c> and lists them right after the
/// script). Housekeeping is left out. MONITOR costs the server CPU, so it is never attached while CPU is measured.
/// </summary>
public sealed class MonitorCapture
{
    private readonly List<(string Endpoint, TcpClient Client, Task<List<(string[] Words, List<string[]> Inner)>> Reading)> _nodes = [];
    private readonly string _marker = Guid.NewGuid().ToString("N");

    private MonitorCapture()
    {
    }

    /// <summary>A command the application sent: the node that received it, its words (name first, lower case) and, for a script, the commands it ran.</summary>
    public sealed record Command(string Endpoint, string[] Words, IReadOnlyList<string[]> Inner);

    public static async Task<MonitorCapture> StartAsync(IEnumerable<string> endpoints)
    {
        var capture = new MonitorCapture();
        foreach (var endpoint in endpoints)
        {
            var client = new TcpClient();
            var colon = endpoint.LastIndexOf(':');
            await client.ConnectAsync(endpoint[..colon], int.Parse(endpoint[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture));
            var stream = client.GetStream();
            var reader = new StreamReader(stream, Encoding.Latin1);
            await stream.WriteAsync("MONITOR\r\n"u8.ToArray());
            if (await reader.ReadLineAsync() != "+OK")
            {
                throw new InvalidOperationException($"MONITOR was refused by {endpoint}.");
            }

            capture._nodes.Add((endpoint, client, Task.Run(() => ReadUntilAsync(reader, capture._marker))));
        }

        return capture;
    }

    /// <summary>Marks the end on every node (an <c>ECHO</c> through <paramref name="admin"/>) and returns what each received before it.</summary>
    public async Task<IReadOnlyList<Command>> StopAsync(IConnectionMultiplexer admin)
    {
        var commands = new List<Command>();
        foreach (var (endpoint, client, reading) in _nodes)
        {
            await admin.GetServer(endpoint).ExecuteAsync("ECHO", _marker);
            commands.AddRange((await reading).Select(c => new Command(endpoint, c.Words, c.Inner)));
            client.Dispose();
        }

        return commands;
    }

    private static async Task<List<(string[] Words, List<string[]> Inner)>> ReadUntilAsync(StreamReader reader, string marker)
    {
        var commands = new List<(string[] Words, List<string[]> Inner)>();
        var inScript = false;
        while (await reader.ReadLineAsync() is { } line && !line.Contains(marker, StringComparison.Ordinal))
        {
            // +1700000000.123456 [0 127.0.0.1:51234] "evalsha" "..." | +1700000000.123460 [0 lua] "hgetall" "..."
            var open = line.IndexOf('[', StringComparison.Ordinal);
            var close = line.IndexOf(']', StringComparison.Ordinal);
            if (open < 0 || close < open)
            {
                continue;
            }

            var words = Words(line.AsSpan(close + 1));
            if (line[open..close].EndsWith(" lua", StringComparison.Ordinal))
            {
                if (inScript)
                {
                    commands[^1].Inner.Add(words);
                }
            }
            else if (words.Length > 0 && !NodeStats.Housekeeping.Contains(words[0]))
            {
                commands.Add((words, []));
                inScript = true;
            }
            else
            {
                inScript = false;
            }
        }

        return commands;
    }

    /// <summary>MONITOR's quoted words: <c>\"</c>, <c>\\</c>, <c>\n</c>, <c>\r</c>, <c>\t</c>, <c>\a</c>, <c>\b</c> and <c>\xHH</c> escapes (sdscatrepr).</summary>
    private static string[] Words(ReadOnlySpan<char> text)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] != '"')
            {
                continue;
            }

            word.Clear();
            for (i++; i < text.Length && text[i] != '"'; i++)
            {
                if (text[i] != '\\' || i + 1 >= text.Length)
                {
                    word.Append(text[i]);
                    continue;
                }

                i++;
                switch (text[i])
                {
                    case 'x' when i + 2 < text.Length:
                        word.Append((char)Convert.ToByte(text.Slice(i + 1, 2).ToString(), 16));
                        i += 2;
                        break;
                    case 'n': word.Append('\n'); break;
                    case 'r': word.Append('\r'); break;
                    case 't': word.Append('\t'); break;
                    case 'a': word.Append('\a'); break;
                    case 'b': word.Append('\b'); break;
                    default: word.Append(text[i]); break;
                }
            }

            words.Add(words.Count == 0 ? word.ToString().ToLowerInvariant() : word.ToString());
        }

        return [.. words];
    }
}
