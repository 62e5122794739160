using System;
using System.Threading.Tasks;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;
using StateKit.Redis.Testing;
using StateKit.Testing;

namespace StateKit.Redis.Tests;

/// <summary>
/// Issue 17: a load is HGETALL and PEXPIRE, no script; the stored last access is written behind a load only once it is
/// LastAccessWriteInterval old. What that costs and what it promises, on a real server and the store's clock.
/// </summary>
public sealed class RedisLastAccessTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    private static readonly TimeSpan Idle = TimeSpan.FromMinutes(20);
    private static readonly TimeSpan Interval = Idle / 20;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero));
    private readonly string _prefix = RedisFixture.UniquePrefix("last-access");

    // The store's own connection: commands on it run in the order sent, so the write behind a load precedes this read.
    private IDatabase Db => redis.Redis.GetDatabase();

    [Fact]
    public async Task Load_WithinTheInterval_WritesNoAccess_AndTheSnapshotShowsTheDeadlineThatHolds()
    {
        var store = CreateStore();
        var ticket = await CreateAsync(store);
        var created = await StoredAccessAsync(ticket);

        _time.Advance(Interval - TimeSpan.FromSeconds(1));
        var loaded = await store.LoadAsync(ticket);

        Assert.Equal(created, await StoredAccessAsync(ticket));
        Assert.Equal(created, loaded!.LastAccessedAt.ToUnixTimeMilliseconds());
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(created) + Idle, loaded.ExpiresAt);
    }

    [Fact]
    public async Task Load_AccessAsOldAsTheInterval_WritesItBehindTheLoad()
    {
        var store = CreateStore();
        var ticket = await CreateAsync(store);

        _time.Advance(Interval);
        var loaded = await store.LoadAsync(ticket);

        Assert.Equal(_time.GetUtcNow().ToUnixTimeMilliseconds(), await StoredAccessAsync(ticket));
        Assert.Equal(_time.GetUtcNow() + Idle, loaded!.ExpiresAt);
    }

    [Fact]
    public async Task ReadOnlySession_ExpiresNoLaterThanTheIdleTimeout_AndAtMostTheIntervalBefore()
    {
        var store = CreateStore();
        var ticket = await CreateAsync(store);

        // A read inside the interval writes nothing: the idle deadline still counts from the creation.
        _time.Advance(Interval - TimeSpan.FromSeconds(1));
        Assert.NotNull(await store.LoadAsync(ticket));
        _time.Advance(Idle - Interval + TimeSpan.FromSeconds(2));

        Assert.Null(await store.LoadAsync(ticket));
    }

    [Fact]
    public async Task ZeroInterval_EveryLoadWritesTheAccessExactly()
    {
        var store = CreateStore(o => o.LastAccessWriteInterval = TimeSpan.Zero);
        var ticket = await CreateAsync(store);

        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.NotNull(await store.LoadAsync(ticket));
        Assert.Equal(_time.GetUtcNow().ToUnixTimeMilliseconds(), await StoredAccessAsync(ticket));

        _time.Advance(Idle - TimeSpan.FromSeconds(1));
        Assert.NotNull(await store.LoadAsync(ticket));
    }

    [Fact]
    public async Task Load_OfARevokedSession_ResurrectsNothing()
    {
        var store = CreateStore();
        var ticket = await CreateAsync(store);
        _time.Advance(Interval);
        Assert.True(await store.RevokeAsync(ticket));

        Assert.Null(await store.LoadAsync(ticket));
        Assert.False(await Db.KeyExistsAsync(Key(ticket)));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(601)]
    public void Options_IntervalNegativeOrOverHalfTheIdleTimeout_FailsValidationWithTheBound(int seconds)
    {
        var error = Assert.Throws<OptionsValidationException>(() => CreateStore(o => o.LastAccessWriteInterval = TimeSpan.FromSeconds(seconds)));
        Assert.Contains("LastAccessWriteInterval must be from zero to half the IdleTimeout", error.Message, StringComparison.Ordinal);
    }

    private RedisSessionStore CreateStore(Action<RedisSessionStoreOptions>? configure = null)
    {
        var options = new RedisSessionStoreOptions { KeyPrefix = _prefix, IdleTimeout = Idle, AbsoluteLifetime = TimeSpan.FromHours(8) };
        configure?.Invoke(options);
        return new RedisSessionStore(redis.Redis, options, _time);
    }

    private static async Task<string> CreateAsync(ISessionStore store)
    {
        var session = store.Open(null);
        session.Set("n", 1, ContractJsonContext.Default.Int32);
        return (await session.CommitAsync()).Ticket!;
    }

    private string Key(string ticket) => $"{_prefix}s:{{{ticket}}}";

    private async Task<long> StoredAccessAsync(string ticket) => (long)await Db.HashGetAsync(Key(ticket), "m:a");
}
