using System.Threading.Tasks;
using StackExchange.Redis;
using StateKit.Redis.Testing;

namespace StateKit.Redis.Tests;

/// <summary>A real redis-server started with expired keyspace events on (<c>notify-keyspace-events Ex</c>), as an operator would configure it.</summary>
public sealed class RedisKeyspaceFixture : IAsyncLifetime
{
    private TestServer? _server;
    private ConnectionMultiplexer? _direct;

    public TestServer Server => _server!;

    /// <summary>Gets a connection of the test's own, to expire keys as Redis would.</summary>
    public IConnectionMultiplexer Direct => _direct!;

    public async Task InitializeAsync()
    {
        _server = await TestServer.StartRedisAsync(["--notify-keyspace-events", "Ex"]);
        _direct = await ConnectionMultiplexer.ConnectAsync($"{_server.Endpoint},abortConnect=false");
    }

    public async Task DisposeAsync()
    {
        if (_direct is not null)
        {
            await _direct.DisposeAsync();
        }

        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
