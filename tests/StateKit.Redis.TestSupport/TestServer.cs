using System;
using System.Diagnostics;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Garnet;

namespace StateKit.Redis.Testing;

/// <summary>
/// One Redis-compatible server on a free loopback port: a real <c>redis-server</c> process (its own temp dir, no
/// persistence) when the binary is on PATH, else an embedded Garnet server with Lua enabled.
/// </summary>
public sealed class TestServer : IAsyncDisposable
{
    private readonly GarnetServer? _garnet;
    private readonly DirectoryInfo? _dir;
    private readonly ProcessStartInfo? _startInfo;
    private Process? _process;

    private TestServer(int port, ProcessStartInfo? startInfo, GarnetServer? garnet, DirectoryInfo? dir)
    {
        Port = port;
        _startInfo = startInfo;
        _garnet = garnet;
        _dir = dir;
    }

    public int Port { get; }

    public string Endpoint => $"127.0.0.1:{Port}";

    /// <summary>Gets <c>redis-server</c> or <c>garnet</c>.</summary>
    public string Kind => IsRealRedis ? "redis-server" : "garnet";

    public bool IsRealRedis => _startInfo is not null;

    /// <summary>Gets the process id of the running redis-server, or <see langword="null"/> when stopped or Garnet.</summary>
    public int? ProcessId => _process is { HasExited: false } p ? p.Id : null;

    /// <summary>Starts a standalone server: redis-server when present, else Garnet (unless a real server is required).</summary>
    public static async Task<TestServer> StartStandaloneAsync()
    {
        if (RedisServerAvailability.IsOnPath)
        {
            return await StartRedisAsync([]).ConfigureAwait(false);
        }

        if (RedisServerAvailability.IsRequired)
        {
            throw new InvalidOperationException(RedisServerAvailability.MissingMessage);
        }

        return await StartGarnetAsync().ConfigureAwait(false);
    }

    /// <summary>Starts a real redis-server with extra arguments (e.g. cluster mode).</summary>
    public static Task<TestServer> StartRedisAsync(string[] extraArgs) => StartRedisAsync(extraArgs, configFile: null);

    /// <summary>
    /// Starts a real redis-server whose first argument is a configuration file written into its own directory with
    /// <paramref name="configFile"/> as its text: a sentinel (<c>--sentinel</c>) needs one it can rewrite.
    /// </summary>
    public static async Task<TestServer> StartRedisAsync(string[] extraArgs, string? configFile)
    {
        for (var attempt = 1; ; attempt++)
        {
            var port = FreePort();
            var dir = Directory.CreateTempSubdirectory("statekit-redis-");
            var info = new ProcessStartInfo(RedisServerAvailability.RedisServerPath!)
            {
                WorkingDirectory = dir.FullName,
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            if (configFile is not null)
            {
                var path = Path.Combine(dir.FullName, "redis.conf");
                await File.WriteAllTextAsync(path, configFile).ConfigureAwait(false);
                info.ArgumentList.Add(path);
            }

            foreach (var arg in (string[])["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", dir.FullName, "--logfile", "redis.log", "--daemonize", "no"])
            {
                info.ArgumentList.Add(arg);
            }

            foreach (var arg in extraArgs)
            {
                info.ArgumentList.Add(arg);
            }

            var server = new TestServer(port, info, null, dir);
            server.Launch();
            if (await server.WaitForPingAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false))
            {
                return server;
            }

            await server.DisposeAsync().ConfigureAwait(false);
            if (attempt == 3)
            {
                throw new InvalidOperationException($"redis-server did not answer PING on port {port} after 3 attempts.");
            }
        }
    }

    public static async Task<TestServer> StartGarnetAsync()
    {
        for (var attempt = 1; ; attempt++)
        {
            var port = FreePort();
            try
            {
                var garnet = new GarnetServer(["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--lua"]);
                garnet.Start();
                var server = new TestServer(port, null, garnet, null);
                if (await server.WaitForPingAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false))
                {
                    return server;
                }

                await server.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception) when (attempt < 3)
            {
            }

            if (attempt == 3)
            {
                throw new InvalidOperationException($"Garnet did not answer PING on port {port} after 3 attempts.");
            }
        }
    }

    /// <summary>
    /// Kills the redis-server process (SIGKILL: no shutdown, no final save, as in a crash). What survives is what its
    /// configuration persisted (e.g. <c>--appendonly yes --appendfsync always</c>); the test servers persist nothing by default.
    /// </summary>
    public async Task KillAsync()
    {
        if (!IsRealRedis)
        {
            throw new NotSupportedException("Only a redis-server process can be killed and restarted; Garnet runs in-process.");
        }

        if (_process is { } process)
        {
            _process = null;
            try
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync().ConfigureAwait(false);
            }
            catch (InvalidOperationException)
            {
            }

            process.Dispose();
        }
    }

    /// <summary>
    /// Freezes the redis-server process (SIGSTOP): the socket stays open and accepts bytes, nothing answers, as a server
    /// stalled by the host, a long fork or a network partition looks to a client. <see cref="Thaw"/> resumes it.
    /// </summary>
    public void Freeze() => Signal("STOP");

    /// <summary>Resumes a process <see cref="Freeze"/> stopped (SIGCONT); it then answers what it received meanwhile.</summary>
    public void Thaw() => Signal("CONT");

    /// <summary>Starts redis-server again after <see cref="KillAsync"/>: same port, same directory, same arguments.</summary>
    public async Task RestartAsync()
    {
        await KillAsync().ConfigureAwait(false);
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            Launch();
            if (await WaitForPingAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false))
            {
                return;
            }

            await KillAsync().ConfigureAwait(false);
        }

        throw new InvalidOperationException($"redis-server did not answer PING again on port {Port} after 3 attempts.");
    }

    public async ValueTask DisposeAsync()
    {
        if (IsRealRedis)
        {
            await KillAsync().ConfigureAwait(false);
        }

        _garnet?.Dispose();
        try
        {
            _dir?.Delete(recursive: true);
        }
        catch (IOException)
        {
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private void Signal(string signal)
    {
        var pid = ProcessId ?? throw new NotSupportedException("Only a running redis-server process can be frozen; Garnet runs in-process.");
        using var kill = Process.Start("kill", ["-" + signal, pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -{signal} {pid} exited with {kill.ExitCode}.");
        }
    }

    private void Launch()
    {
        var process = Process.Start(_startInfo!)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
    }

    private async Task<bool> WaitForPingAsync(TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            if (_process is { HasExited: true })
            {
                return false;
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port).ConfigureAwait(false);
                var stream = client.GetStream();
                await stream.WriteAsync("PING\r\n"u8.ToArray()).ConfigureAwait(false);
                var buffer = new byte[64];
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                var read = await stream.ReadAsync(buffer, cts.Token).ConfigureAwait(false);
                if (Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal))
                {
                    return true;
                }
            }
            catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
            {
            }

            await Task.Delay(TimeSpan.FromMilliseconds(20), TimeProvider.System).ConfigureAwait(false);
        }

        return false;
    }
}
