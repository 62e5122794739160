using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;
using StateKit.DependencyInjection;
using StateKit.Redis.Tests.Servers;
using StateKit.Redis.Testing;
using StateKit.Testing;

namespace StateKit.Redis.Tests;

/// <summary>What the Redis store promises beyond the shared contract, against a real server.</summary>
public sealed class RedisSessionStoreTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
    private readonly string _prefix = RedisFixture.UniquePrefix("store");

    private IDatabase Db => redis.Admin.GetDatabase();

    [Fact]
    public async Task Layout_OneHashPerSession_HashTaggedKey_FieldPerKey_Metadata()
    {
        var store = CreateStore();
        var session = store.Open(null);
        session.Set("cart", 7, ContractJsonContext.Default.Int32);
        session.BindUser("ana");
        await session.CommitAsync();
        var id = session.Ticket!;

        var key = $"{_prefix}s:{{{id}}}";
        Assert.Equal(RedisType.Hash, await Db.KeyTypeAsync(key));
        var fields = (await Db.HashGetAllAsync(key)).ToDictionary(e => (string)e.Name!, e => (string)e.Value!);
        Assert.Equal("7", fields["d:cart"]);
        Assert.Equal("1", fields["w:cart"]);
        Assert.Equal("1", fields["m:v"]);
        Assert.Equal(_time.GetUtcNow().ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture), fields["m:c"]);
        Assert.Equal("1200000", fields["m:i"]);
        Assert.Equal("5", fields["m:n"]); // "cart" (4 bytes) + "7" (1 byte)
        Assert.Equal("ana", fields["m:u"]);
        Assert.True(await Db.SetContainsAsync($"{_prefix}u:{{ana}}", id));
    }

    [Fact]
    public async Task Commit_DeltaOnly_WritesOnlyChangedKeysAndDeletesRemovedOnes()
    {
        var store = CreateStore();
        var session = store.Open(null);
        session.Set("a", 1, ContractJsonContext.Default.Int32);
        session.Set("b", 2, ContractJsonContext.Default.Int32);
        await session.CommitAsync();
        var key = $"{_prefix}s:{{{session.Ticket}}}";

        var next = store.Open(session.Ticket);
        next.Set("a", 10, ContractJsonContext.Default.Int32);
        next.Remove("b");
        await next.CommitAsync();

        Assert.Equal("10", (string?)await Db.HashGetAsync(key, "d:a"));
        Assert.Equal("2", (string?)await Db.HashGetAsync(key, "w:a"));
        Assert.False(await Db.HashExistsAsync(key, "d:b"));
        Assert.Equal("2", (string?)await Db.HashGetAsync(key, "w:b")); // the removal's version, for conflict detection
        Assert.Equal("3", (string?)await Db.HashGetAsync(key, "m:n"));
    }

    [Theory]
    [InlineData(KeyConflictPolicy.LastWriterWins)]
    [InlineData(KeyConflictPolicy.Conflict)]
    public async Task Commit_StaleBaseSameKey_FollowsThePolicy(KeyConflictPolicy policy)
    {
        var store = CreateStore(o => o.KeyConflictPolicy = policy);
        var ticket = await CreateAsync(store, ("n", 1), ("other", 1));
        var stale = store.Open(ticket);
        await stale.LoadAsync();
        var winner = store.Open(ticket);
        winner.Set("n", 2, ContractJsonContext.Default.Int32);
        await winner.CommitAsync();

        stale.Set("n", 3, ContractJsonContext.Default.Int32);
        var result = await stale.CommitAsync();

        if (policy == KeyConflictPolicy.LastWriterWins)
        {
            Assert.Equal(SessionCommitOutcome.Committed, result.Outcome);
            Assert.Equal(3, await ReadAsync(store, ticket, "n"));
        }
        else
        {
            Assert.Equal(SessionCommitOutcome.Conflict, result.Outcome);
            Assert.Equal(2, await ReadAsync(store, ticket, "n"));
        }
    }

    [Fact]
    public async Task Commit_StaleBaseOtherKey_MergesUnderConflictPolicy()
    {
        var store = CreateStore(o => o.KeyConflictPolicy = KeyConflictPolicy.Conflict);
        var ticket = await CreateAsync(store, ("a", 1), ("b", 1));
        var stale = store.Open(ticket);
        await stale.LoadAsync();
        var other = store.Open(ticket);
        other.Set("a", 2, ContractJsonContext.Default.Int32);
        await other.CommitAsync();

        stale.Set("b", 5, ContractJsonContext.Default.Int32);
        var result = await stale.CommitAsync();

        Assert.Equal(SessionCommitOutcome.Committed, result.Outcome);
        Assert.Equal(3, result.Version);
        Assert.Equal(2, await ReadAsync(store, ticket, "a"));
        Assert.Equal(5, await ReadAsync(store, ticket, "b"));
    }

    [Fact]
    public async Task Commit_StaleBaseKeyRemovedMeanwhile_ConflictsUnderConflictPolicy()
    {
        var store = CreateStore(o => o.KeyConflictPolicy = KeyConflictPolicy.Conflict);
        var ticket = await CreateAsync(store, ("a", 1), ("b", 1));
        var stale = store.Open(ticket);
        await stale.LoadAsync();
        var other = store.Open(ticket);
        other.Remove("a");
        await other.CommitAsync();

        stale.Set("a", 3, ContractJsonContext.Default.Int32);

        Assert.Equal(SessionCommitOutcome.Conflict, (await stale.CommitAsync()).Outcome);
    }

    [Fact]
    public async Task BlindWrite_OverTheLimitThroughTheDelta_RefusedInTheScriptAndNothingWritten()
    {
        var store = CreateStore(o => o.MaxPayloadBytes = 100);
        var ticket = await CreateAsync(store, ("n", 1));
        var key = $"{_prefix}s:{{{ticket}}}";
        var session = store.Open(ticket);
        session.SetBytes("big", new byte[97]); // 2 (n + "1") + 3 + 97 = 102 > 100

        var error = await Assert.ThrowsAsync<SessionPayloadTooLargeException>(async () => await session.CommitAsync());

        Assert.Equal(102, error.Size);
        Assert.Equal(100, error.Limit);
        Assert.Contains("100", error.Message, StringComparison.Ordinal);
        Assert.False(await Db.HashExistsAsync(key, "d:big"));
        Assert.Equal("1", (string?)await Db.HashGetAsync(key, "m:v"));
        Assert.True(session.HasChanges);

        session.Remove("big");
        session.SetBytes("big", new byte[95]); // exactly 100 fits
        Assert.Equal(SessionCommitOutcome.Committed, (await session.CommitAsync()).Outcome);
    }

    [Fact]
    public async Task ServerTtl_IdleTimeout_ExpiresOnTheRealServer()
    {
        var store = CreateStore(o => { o.IdleTimeout = TimeSpan.FromMilliseconds(300); o.AbsoluteLifetime = TimeSpan.FromSeconds(30); }, TimeProvider.System);
        var ticket = await CreateAsync(store, ("n", 1));
        var key = $"{_prefix}s:{{{ticket}}}";

        var ttl = await Db.KeyTimeToLiveAsync(key);
        Assert.InRange(ttl!.Value, TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(300));

        await WaitUntilAsync(async () => !await Db.KeyExistsAsync(key), TimeSpan.FromSeconds(5));
        Assert.Null(await store.LoadAsync(ticket));
    }

    [Fact]
    public async Task ServerTtl_Load_SlidesTheIdleTtl()
    {
        // Generous windows: a loaded CI machine must not turn scheduling delays into expiries.
        var store = CreateStore(o => { o.IdleTimeout = TimeSpan.FromMilliseconds(1500); o.AbsoluteLifetime = TimeSpan.FromSeconds(30); }, TimeProvider.System);
        var ticket = await CreateAsync(store, ("n", 1));
        var key = $"{_prefix}s:{{{ticket}}}";
        await Task.Delay(TimeSpan.FromMilliseconds(400), TimeProvider.System);
        var before = await Db.KeyTimeToLiveAsync(key);

        Assert.NotNull(await store.LoadAsync(ticket));

        var after = await Db.KeyTimeToLiveAsync(key);
        Assert.True(after > before, $"the load should have slid the TTL ({before} -> {after})");
        Assert.InRange(after!.Value, TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(1500));
    }

    [Fact]
    public async Task ServerTtl_AbsoluteLifetime_CapsTheTtlOnTheRealServer()
    {
        var store = CreateStore(o => { o.IdleTimeout = TimeSpan.FromMilliseconds(1500); o.AbsoluteLifetime = TimeSpan.FromMilliseconds(1600); }, TimeProvider.System);
        var ticket = await CreateAsync(store, ("n", 1));
        var key = $"{_prefix}s:{{{ticket}}}";
        await Task.Delay(TimeSpan.FromMilliseconds(700), TimeProvider.System);

        // The script that caps the TTL behind the load runs before the next command on the store's connection.
        Assert.NotNull(await store.LoadAsync(ticket));

        // The idle window would allow 1500 ms more; the absolute deadline allows at most 900.
        var ttl = await redis.Redis.GetDatabase().KeyTimeToLiveAsync(key);
        Assert.InRange(ttl!.Value, TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(910));
        await WaitUntilAsync(async () => !await Db.KeyExistsAsync(key), TimeSpan.FromSeconds(5));
        Assert.Null(await store.LoadAsync(ticket));
    }

    [Fact]
    public async Task Noscript_AfterScriptFlush_LoadAndCommitStillWork()
    {
        var store = CreateStore();
        var ticket = await CreateAsync(store, ("n", 1));
        Assert.Equal(1, await ReadAsync(store, ticket, "n"));

        await redis.Admin.GetServer(redis.Server.Endpoint).ScriptFlushAsync();

        Assert.Equal(1, await ReadAsync(store, ticket, "n"));
        await redis.Admin.GetServer(redis.Server.Endpoint).ScriptFlushAsync();
        var session = store.Open(ticket);
        session.Set("n", 2, ContractJsonContext.Default.Int32);
        Assert.Equal(SessionCommitOutcome.Committed, (await session.CommitAsync()).Outcome);
        Assert.Equal(2, await ReadAsync(store, ticket, "n"));
    }

    [Fact]
    public async Task Unavailable_ClosedPort_TypedErrorNamingTheEndpointWithinTheTimeout()
    {
        var port = TestServer.FreePort();
        await using var store = new RedisSessionStore(new RedisSessionStoreOptions
        {
            Configuration = $"127.0.0.1:{port},abortConnect=false,connectTimeout=500,asyncTimeout=500,syncTimeout=500,connectRetry=0",
        });
        var ticket = "AAAAAAAAAAAAAAAAAAAAAA";
        var watch = Stopwatch.StartNew();

        var load = await Assert.ThrowsAsync<SessionStoreUnavailableException>(async () => await store.LoadAsync(ticket));
        Assert.Contains($"127.0.0.1:{port}", load.Message, StringComparison.Ordinal);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}");

        var session = store.Open(ticket);
        session.Set("n", 1, ContractJsonContext.Default.Int32);
        var commit = await Assert.ThrowsAsync<SessionStoreUnavailableException>(async () => await session.CommitAsync());
        Assert.Contains($"127.0.0.1:{port}", commit.Message, StringComparison.Ordinal);
        Assert.True(session.HasChanges, "the failed commit must keep the request's changes");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(8), $"took {watch.Elapsed}");
    }

    [Fact]
    public async Task Commit_CanceledToken_ThrowsBeforeWriting()
    {
        var store = CreateStore();
        var ticket = await CreateAsync(store, ("n", 1));
        using var cts = new System.Threading.CancellationTokenSource();
        await cts.CancelAsync();
        var session = store.Open(ticket);
        session.Set("n", 2, ContractJsonContext.Default.Int32);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await session.CommitAsync(cts.Token));
        Assert.Equal(1, await ReadAsync(store, ticket, "n"));
    }

    [Fact]
    public async Task RotateId_MovesTheUserIndexEntry()
    {
        var store = CreateStore();
        var session = store.Open(null);
        session.Set("n", 1, ContractJsonContext.Default.Int32);
        session.BindUser("dora");
        await session.CommitAsync();
        var oldId = session.Ticket!;

        session.RotateId();
        await session.CommitAsync();

        var members = (await Db.SetMembersAsync($"{_prefix}u:{{dora}}")).Select(m => (string)m!).ToArray();
        Assert.Equal([session.Ticket!], members);
        Assert.NotEqual(oldId, session.Ticket);
        Assert.False(await Db.KeyExistsAsync($"{_prefix}s:{{{oldId}}}"));
    }

    [Fact]
    public async Task RotateId_CrashAfterTheCopy_LeavesTheOldIdWholeAndTheCopyUnreachable()
    {
        // Steps 1-2 of a rotation (export, import) without the rest, as if the process died between them.
        var store = CreateStore();
        var ticket = await CreateAsync(store, ("n", 1));
        var oldKey = (RedisKey)$"{_prefix}s:{{{ticket}}}";
        var exported = (RedisValue[])(await Db.ScriptEvaluateAsync(RedisScripts.Export.Text, [oldKey], [_time.GetUtcNow().ToUnixTimeMilliseconds()]))!;
        var orphanKey = (RedisKey)$"{_prefix}s:{{{SessionIds.NewId()}}}";
        await Db.ScriptEvaluateAsync(RedisScripts.Import.Text, [orphanKey], [_time.GetUtcNow().ToUnixTimeMilliseconds(), .. exported]);

        Assert.Equal(1, await ReadAsync(store, ticket, "n"));
        var orphanTtl = await Db.KeyTimeToLiveAsync(orphanKey);
        Assert.InRange(orphanTtl!.Value, TimeSpan.FromMilliseconds(1), RedisSessionStoreOptionsDefaults.Idle);

        // A later rotation of the same session still works and leaves one live id.
        var session = store.Open(ticket);
        session.RotateId();
        var result = await session.CommitAsync();
        Assert.Null(await store.LoadAsync(ticket));
        Assert.Equal(1, await ReadAsync(store, result.Ticket!, "n"));
    }

    [Fact]
    public async Task RevokeUserAsync_PrunesAndIgnoresStaleIndexEntries()
    {
        var store = CreateStore();
        var userKey = $"{_prefix}u:{{eve}}";
        var a = store.Open(null);
        a.Set("n", 1, ContractJsonContext.Default.Int32);
        a.BindUser("eve");
        await a.CommitAsync();

        // An entry whose session is gone, and one whose session was re-bound to someone else.
        await Db.SetAddAsync(userKey, SessionIds.NewId());
        var other = store.Open(null);
        other.Set("n", 2, ContractJsonContext.Default.Int32);
        other.BindUser("frank");
        await other.CommitAsync();
        await Db.SetAddAsync(userKey, other.Ticket);

        // Binding prunes ids whose session no longer exists.
        var b = store.Open(null);
        b.Set("n", 3, ContractJsonContext.Default.Int32);
        b.BindUser("eve");
        await b.CommitAsync();
        Assert.Equal(3, await Db.SetLengthAsync(userKey));

        Assert.Equal(2, await store.RevokeUserAsync("eve"));
        Assert.Equal(2, await ReadAsync(store, other.Ticket!, "n"));
        Assert.Null(await store.LoadAsync(a.Ticket!));
        Assert.Null(await store.LoadAsync(b.Ticket!));
    }

    [Fact]
    public async Task Load_MalformedTicket_NeverReachesRedis()
    {
        var store = CreateStore(o => o.KeyPrefix = RedisFixture.UniquePrefix("malformed"));
        Assert.Null(await store.LoadAsync("{other}" + new string('A', 15)));
        Assert.Null(await store.LoadAsync("../../" + new string('A', 16)));
    }

    [Fact]
    public void Options_Invalid_ListsEveryError()
    {
        var options = new RedisSessionStoreOptions { KeyPrefix = "app{1}:", IdleTimeout = TimeSpan.Zero, Configuration = "localhost:6379,connectTimeout=abc" };

        var errors = options.GetValidationErrors();

        Assert.Equal(3, errors.Count);
        Assert.Contains(errors, e => e.Contains("KeyPrefix", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("IdleTimeout", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("Configuration", StringComparison.Ordinal));
        Assert.Throws<OptionsValidationException>(() => new RedisSessionStore(redis.Redis, options));
    }

    [Fact]
    public async Task UseRedis_WithConfigurationString_RegistersAWorkingStore()
    {
        var services = new ServiceCollection();
        services.AddStateKit(kit => kit.UseRedis(redis.Configuration, o => o.KeyPrefix = _prefix).WithCircuitBreaker(b => b.Timeout = RedisFixture.PatientCallTimeout));
        await using var provider = services.BuildServiceProvider();
        await HostStart.RunAsync(provider);

        var store = provider.GetRequiredService<ISessionStore>();
        var session = store.Open(null);
        session.Set("n", 1, ContractJsonContext.Default.Int32);
        await session.CommitAsync();

        Assert.True(store.Capabilities.Concurrency == ConcurrencyGuarantee.CompareAndSet);
        Assert.Equal(1, await ReadAsync(store, session.Ticket!, "n"));
    }

    [Fact]
    public async Task UseRedis_WithMultiplexerFromDi_UsesIt()
    {
        var services = new ServiceCollection();
        services.AddSingleton(redis.Redis);
        services.AddStateKit(kit => kit.UseRedis(o => o.KeyPrefix = _prefix).WithCircuitBreaker(b => b.Timeout = RedisFixture.PatientCallTimeout));
        await using var provider = services.BuildServiceProvider();

        var store = provider.GetRequiredService<ISessionStore>();
        var ticket = await CreateAsync(store, ("n", 4));

        Assert.Equal(4, await ReadAsync(store, ticket, "n"));
        Assert.True(redis.Redis.IsConnected, "the store must not dispose a multiplexer it was given");
    }

    [Fact]
    public async Task UseRedis_TwoTiers_EachOnItsOwnConnectionAndPrefix()
    {
        var services = new ServiceCollection();
        services.AddSingleton(redis.Redis);
        var criticalPrefix = RedisFixture.UniquePrefix("tier-critical");
        var standardPrefix = RedisFixture.UniquePrefix("tier-standard");
        services.AddStateKit(kit => kit
            .AddTier("critical", t => t.UseRedis(redis.Configuration, o => o.KeyPrefix = criticalPrefix).WithCircuitBreaker(b => b.Timeout = RedisFixture.PatientCallTimeout))
            .AddTier("standard", t => t.UseRedis(o => o.KeyPrefix = standardPrefix).WithCircuitBreaker(b => b.Timeout = RedisFixture.PatientCallTimeout))
            .MapKey("cart", "critical")
            .WithDefaultTier("standard"));
        await using var provider = services.BuildServiceProvider();
        await HostStart.RunAsync(provider);
        var store = provider.GetRequiredService<ISessionStore>();

        var session = store.Open(null);
        session.Set("cart", 1, ContractJsonContext.Default.Int32);
        session.Set("theme", 2, ContractJsonContext.Default.Int32);
        await session.CommitAsync();

        Assert.Single(redis.Admin.GetServer(redis.Server.Endpoint).Keys(pattern: criticalPrefix + "*"));
        Assert.Single(redis.Admin.GetServer(redis.Server.Endpoint).Keys(pattern: standardPrefix + "*"));
        Assert.Equal(1, await ReadAsync(store, session.Ticket!, "cart"));
        Assert.Equal(2, await ReadAsync(store, session.Ticket!, "theme"));
    }

    [Fact]
    public void UseRedis_NoConnectionAndBadPrefix_FailsValidationWithEveryReason()
    {
        var services = new ServiceCollection();
        services.AddStateKit(kit => kit.UseRedis(o => o.KeyPrefix = "{x}"));
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<RedisSessionStoreOptions>>().Value);

        Assert.Contains(error.Failures, f => f.Contains("KeyPrefix", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains("IConnectionMultiplexer", StringComparison.Ordinal));
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(watch.Elapsed < timeout, $"condition not met within {timeout}");
            await Task.Delay(TimeSpan.FromMilliseconds(25), TimeProvider.System);
        }
    }

    private static async Task<string> CreateAsync(ISessionStore store, params (string Key, int Value)[] values)
    {
        var session = store.Open(null);
        foreach (var (key, value) in values)
        {
            session.Set(key, value, ContractJsonContext.Default.Int32);
        }

        await session.CommitAsync();
        return session.Ticket!;
    }

    private static async Task<int?> ReadAsync(ISessionStore store, string ticket, string key)
    {
        var session = store.Open(ticket);
        await session.LoadAsync();
        return session.Exists && session.TryGetBytes(key, out _) ? session.Get(key, ContractJsonContext.Default.Int32) : null;
    }

    private RedisSessionStore CreateStore(Action<RedisSessionStoreOptions>? configure = null, TimeProvider? time = null)
    {
        var options = new RedisSessionStoreOptions { KeyPrefix = _prefix };
        configure?.Invoke(options);
        return new RedisSessionStore(redis.Redis, options, time ?? _time);
    }

    private static class RedisSessionStoreOptionsDefaults
    {
        public static readonly TimeSpan Idle = TimeSpan.FromMinutes(20);
    }
}
