using System;
using System.Threading.Tasks;
using StackExchange.Redis;
using StateKit.Redis.Testing;

namespace StateKit.Benchmarks.Infrastructure;

/// <summary>
/// A redis-server of the benchmark's own on a free 127.0.0.1 port (the tests' <see cref="TestServer"/>), and one multiplexer
/// shared by every store and baseline in the process, as an application would share it. BenchmarkDotNet runs each case in its
/// own process, so each case gets a fresh, empty server.
/// </summary>
public sealed class BenchRedis : IAsyncDisposable
{
    private BenchRedis(TestServer server, ConnectionMultiplexer redis, ConnectionMultiplexer admin)
    {
        Server = server;
        Redis = redis;
        Admin = admin;
    }

    public TestServer Server { get; }

    /// <summary>Gets the application's multiplexer.</summary>
    public ConnectionMultiplexer Redis { get; }

    /// <summary>Gets a second connection with admin commands (INFO, MONITOR-free inspection).</summary>
    public ConnectionMultiplexer Admin { get; }

    public string Configuration => $"{Server.Endpoint},abortConnect=false";

    public static async Task<BenchRedis> StartAsync()
    {
        var server = await TestServer.StartStandaloneAsync();
        if (!server.IsRealRedis)
        {
            Console.WriteLine("// WARNING: redis-server is not on PATH; running against embedded Garnet. Install redis-server for publishable numbers.");
        }

        var redis = await ConnectionMultiplexer.ConnectAsync($"{server.Endpoint},abortConnect=false");
        var admin = await ConnectionMultiplexer.ConnectAsync($"{server.Endpoint},abortConnect=false,allowAdmin=true");
        return new BenchRedis(server, redis, admin);
    }

    public static BenchRedis Start() => StartAsync().GetAwaiter().GetResult();

    public async ValueTask DisposeAsync()
    {
        await Redis.DisposeAsync();
        await Admin.DisposeAsync();
        await Server.DisposeAsync();
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
}
