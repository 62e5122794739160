using System;
using System.Globalization;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using StateKit.DependencyInjection;
using StateKit.Redis.Testing;
using StateKit.Redis.Tests.Servers;
using StateKit.Resilience;
using StateKit.Testing;
using Xunit.Abstractions;

namespace StateKit.Redis.Tests;

/// <summary>
/// Issue 14: <c>UseRedis</c> fails fast by default. A redis-server of the test's own is frozen (SIGSTOP); with the defaults
/// the breaker opens and later calls are rejected without a command reaching Redis; with <c>WithoutCircuitBreaker()</c>
/// every call goes to Redis and waits out the client timeout, as before.
/// </summary>
public sealed class RedisFailFastDefaultsTests(ITestOutputHelper output)
{
    // Enough concurrent calls, all failing, to pass the breaker's minimum throughput (10) at once.
    private const int Concurrent = 16;

    [ReplicaFact]
    public async Task UseRedis_Defaults_FrozenServer_BreakerOpensAndLaterCallsAreRejectedWithoutReachingRedis()
    {
        await using var server = await TestServer.StartRedisAsync([]);
        await using var provider = Build(kit => kit.UseRedis($"{server.Endpoint},abortConnect=false", o => o.KeyPrefix = "failfast:"));
        await HostStart.RunAsync(provider);

        // Before issue 14 UseRedis registered the bare store: this cast failed (no breaker to open).
        var store = Assert.IsType<ResilientSessionStore>(provider.GetRequiredService<ISessionStore>());
        Assert.Equal(OutagePolicy.FailFast, store.Outage);
        var ticket = await SeedAsync(store);
        var before = await StoreCallsAsync(server);

        server.Freeze();
        Exception[] failed;
        Exception[] rejected;
        try
        {
            failed = await Task.WhenAll(Enumerable.Range(0, Concurrent).Select(_ => LoadFailureAsync(store, ticket)));
            Assert.Equal(CircuitState.Open, store.CircuitBreaker.State);
            rejected = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => LoadFailureAsync(store, ticket)));
        }
        finally
        {
            server.Thaw();
        }

        // Every call failed typed; the ones the guard let through timed out, the later ones were rejected by the open circuit.
        Assert.All(failed, e => Assert.IsAssignableFrom<SessionStoreUnavailableException>(e));
        Assert.All(rejected, e => Assert.Equal(SessionStoreRejectionReason.CircuitOpen, Assert.IsType<SessionStoreRejectedException>(e).Reason));

        // What reached Redis: the thawed server runs what it received, in order; at most the calls the guard let through.
        await DrainAsync(provider);
        var sent = await StoreCallsAsync(server) - before;
        output.WriteLine($"{failed.Length} calls let through while frozen ({failed.Count(e => e is SessionStoreRejectedException { Reason: SessionStoreRejectionReason.Timeout })} timed out by the guard), {rejected.Length} rejected by the open circuit; store calls (scripts and HGETALL) Redis ran since the freeze: {sent}");
        Assert.InRange(sent, 0, failed.Length);
    }

    [ReplicaFact]
    public async Task UseRedis_WithoutCircuitBreaker_FrozenServer_EveryCallWaitsForRedisAsBefore()
    {
        await using var server = await TestServer.StartRedisAsync([]);
        await using var provider = Build(kit => kit.UseRedis($"{server.Endpoint},abortConnect=false", o => o.KeyPrefix = "nobreaker:").WithoutCircuitBreaker());

        var store = provider.GetRequiredService<ISessionStore>();
        Assert.IsNotType<ResilientSessionStore>(store);
        var ticket = await SeedAsync(store);
        var before = await StoreCallsAsync(server);

        server.Freeze();
        Exception[] failed;
        try
        {
            // Twice the breaker's minimum throughput, all failing: nothing opens, each call waits for StackExchange.Redis.
            failed = await Task.WhenAll(Enumerable.Range(0, Concurrent).Select(_ => LoadFailureAsync(store, ticket)));
            failed = [.. failed, .. await Task.WhenAll(Enumerable.Range(0, Concurrent).Select(_ => LoadFailureAsync(store, ticket)))];
        }
        finally
        {
            server.Thaw();
        }

        Assert.All(failed, e => Assert.IsNotType<SessionStoreRejectedException>(Assert.IsAssignableFrom<SessionStoreUnavailableException>(e)));
        Assert.All(failed, e => Assert.True(e.InnerException is RedisTimeoutException or RedisConnectionException, e.ToString()));
        await DrainAsync(provider);
        var sent = await StoreCallsAsync(server) - before;
        output.WriteLine($"{failed.Length} calls while frozen, all sent to Redis: store calls (scripts and HGETALL) Redis ran since the freeze: {sent}");
        Assert.True(sent > 0, "without a breaker the calls reach Redis");
    }

    [Fact]
    public async Task UseRedis_ThenWithCircuitBreaker_ConfiguresTheDefaultBreaker()
    {
        var services = new ServiceCollection();
        services.AddStateKit(kit => kit
            .UseRedis("127.0.0.1:1,abortConnect=false", o => o.KeyPrefix = "configured:")
            .WithCircuitBreaker(b => b.Outage = OutagePolicy.FallbackWithJournal));
        await using var provider = services.BuildServiceProvider();

        var store = Assert.IsType<ResilientSessionStore>(provider.GetRequiredService<ISessionStore>());
        var options = provider.GetRequiredService<IOptionsMonitor<ResilienceOptions>>().Get(string.Empty);

        Assert.Equal(OutagePolicy.FallbackWithJournal, store.Outage);
        Assert.Equal(TimeSpan.FromMilliseconds(500), options.Timeout);
        Assert.Equal(TimeSpan.FromSeconds(5), options.CircuitBreaker.BreakDuration);
    }

    [Fact]
    public void UseRedis_InvalidBreakerOptions_FailAtStartUpWithEveryProblem()
    {
        var services = new ServiceCollection();
        services.AddStateKit(kit => kit
            .UseRedis("127.0.0.1:1,abortConnect=false")
            .WithCircuitBreaker(b =>
            {
                b.Timeout = TimeSpan.Zero;
                b.CircuitBreaker.FailureRatio = 2;
            }));
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptionsMonitor<ResilienceOptions>>().Get(string.Empty));

        Assert.Contains(error.Failures, f => f.Contains("Timeout", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains("FailureRatio", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("h:6379", 1000, 1000, 1000)]
    [InlineData("h:6379,asyncTimeout=250", 1000, 250, 1000)]
    [InlineData("h:6379, SyncTimeout = 3000 ,connectTimeout=4000", 4000, 1000, 3000)]
    public void OwnConnection_UnsetClientTimeouts_GetTheFailFastDefaults(string configuration, int connect, int async, int sync)
    {
        var options = ConfigurationOptions.Parse(configuration);

        RedisDefaults.ApplyClientTimeouts(options, configuration);

        Assert.Equal((connect, async, sync), (options.ConnectTimeout, options.AsyncTimeout, options.SyncTimeout));
    }

    [ReplicaFact]
    public async Task UseRedis_HostStart_ConnectsBeforeTheFirstRequest()
    {
        // A connect on a busy node can outlast the 500 ms operation timeout; the first requests after start-up then failed
        // with a 503 against a healthy server. Before the warm-up, the connection was opened by the first operation.
        await using var server = await TestServer.StartRedisAsync([]);
        await using var provider = Build(kit => kit.UseRedis(server.Endpoint, o => o.KeyPrefix = "warmup:"));
        var connection = provider.GetRequiredKeyedService<RedisConnection>(string.Empty);

        await HostStart.RunAsync(provider);

        var ready = connection.GetAsync();
        Assert.True(ready.IsCompletedSuccessfully, "the host's start did not open the store's connection");
        Assert.True((await ready).IsConnected);
    }

    [ReplicaFact]
    public async Task UseRedis_HostStart_ServerDown_StartsAndFailsOperationsTyped()
    {
        var port = TestServer.FreePort();
        await using var provider = Build(kit => kit.UseRedis($"127.0.0.1:{port}", o => o.KeyPrefix = "warmup-down:"));

        // Start-up must not fail (or hang) because Redis is down: the warm-up gives up after connectTimeout.
        await HostStart.RunAsync(provider);

        var store = provider.GetRequiredService<ISessionStore>();
        var error = await LoadFailureAsync(store, SessionIds.NewId());
        Assert.IsAssignableFrom<SessionStoreUnavailableException>(error);
    }

    private static ServiceProvider Build(Action<StateKitBuilder> configure)
    {
        var services = new ServiceCollection();
        services.AddStateKit(configure);
        return services.BuildServiceProvider();
    }

    private static async Task<string> SeedAsync(ISessionStore store)
    {
        var session = store.Open(null);
        session.Set("n", 1, ContractJsonContext.Default.Int32);
        await session.CommitAsync();

        // The first load sends EVAL (NOSCRIPT) once; from here on each load is one EVALSHA.
        await store.Open(session.Ticket).LoadAsync();
        return session.Ticket!;
    }

    private static async Task<Exception> LoadFailureAsync(ISessionStore store, string ticket)
    {
        var error = await Record.ExceptionAsync(async () => await store.Open(ticket).LoadAsync());
        return Assert.IsAssignableFrom<StateKitException>(error);
    }

    /// <summary>
    /// A PING on the store's own connection, answered once the thawed server has run every command sent on it before.
    /// Retried (capped) while StackExchange.Redis re-establishes a connection it gave up on during the freeze.
    /// </summary>
    private static async Task DrainAsync(ServiceProvider provider)
    {
        var redis = await provider.GetRequiredKeyedService<RedisConnection>(string.Empty).GetAsync();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await redis.GetDatabase().PingAsync();
                return;
            }
            catch (Exception e) when (e is RedisException or TimeoutException && attempt < 20)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250), TimeProvider.System);
            }
        }
    }

    /// <summary>EVAL + EVALSHA the server has run (INFO commandstats), read on a fresh connection once it answers again.</summary>
    private static async Task<long> StoreCallsAsync(TestServer server)
    {
        await using var admin = await ConnectionMultiplexer.ConnectAsync($"{server.Endpoint},allowAdmin=true,asyncTimeout=10000");
        var info = await admin.GetServer(server.Endpoint).InfoRawAsync("commandstats") ?? string.Empty;
        long calls = 0;
        foreach (var line in info.Split('\n'))
        {
            // A load is HGETALL (its PEXPIRE rides along); every write is a script.
            if (line.StartsWith("cmdstat_eval:", StringComparison.Ordinal) || line.StartsWith("cmdstat_evalsha:", StringComparison.Ordinal)
                || line.StartsWith("cmdstat_hgetall:", StringComparison.Ordinal))
            {
                var start = line.IndexOf("calls=", StringComparison.Ordinal) + "calls=".Length;
                var end = line.IndexOf(',', start);
                calls += long.Parse(line.AsSpan(start, end - start), CultureInfo.InvariantCulture);
            }
        }

        return calls;
    }
}
