using System;
using System.Threading.Tasks;
using StackExchange.Redis;

namespace StateKit.Redis.Testing;

/// <summary>
/// A standalone server of its own for one test class (redis-server, or Garnet where it is missing), with the one
/// multiplexer the "application" uses and an admin connection for tests that inspect or disturb the server.
/// </summary>
public sealed class RedisFixture : IAsyncLifetime
{
    private TestServer? _server;
    private ConnectionMultiplexer? _redis;
    private ConnectionMultiplexer? _admin;

    public TestServer Server => _server ?? throw new InvalidOperationException("The server has not started.");

    /// <summary>Gets the application's multiplexer.</summary>
    public IConnectionMultiplexer Redis => _redis!;

    /// <summary>Gets a separate connection with admin commands (INFO, SCRIPT FLUSH, PTTL checks).</summary>
    public IConnectionMultiplexer Admin => _admin!;

    public string Configuration => $"{Server.Endpoint},abortConnect=false";

    public async Task InitializeAsync()
    {
        _server = await TestServer.StartStandaloneAsync();
        _redis = await ConnectionMultiplexer.ConnectAsync(Configuration);
        _admin = await ConnectionMultiplexer.ConnectAsync(Configuration + ",allowAdmin=true");
    }

    public async Task DisposeAsync()
    {
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }

        if (_admin is not null)
        {
            await _admin.DisposeAsync();
        }

        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    /// <summary>
    /// The per-call timeout for <c>UseRedis</c>'s default breaker in tests that are not about latency. Its 500 ms default
    /// is for production; CI runs the test projects side by side on 2 cores, where a warm call once waited past 500 ms
    /// in the thread pool's queue and a sticky write-through answered 503 (<c>StateKitAffinityWithRedisBackupTests</c>).
    /// The tests of the defaults themselves (<c>RedisFailFastDefaultsTests</c>, the sample under fire) keep 500 ms.
    /// </summary>
    public static readonly TimeSpan PatientCallTimeout = TimeSpan.FromSeconds(5);

    /// <summary>A key prefix no other test uses, so tests sharing this server never see each other's keys.</summary>
    public static string UniquePrefix(string name) => $"t:{name}:{Guid.NewGuid():N}:";
}
