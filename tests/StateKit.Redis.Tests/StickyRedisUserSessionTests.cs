using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using StateKit.Caching;
using StateKit.DependencyInjection;
using StateKit.Redis.Testing;
using StateKit.Sticky;
using StateKit.Testing;

namespace StateKit.Redis.Tests;

/// <summary>Issue 18: the listing contract on a sticky node whose backup is the Redis store on a real server.</summary>
public sealed class StickyRedisUserSessionListerTests(RedisFixture redis) : UserSessionListerContract, IClassFixture<RedisFixture>, IAsyncDisposable
{
    private readonly string _prefix = RedisFixture.UniquePrefix("sticky-lister");

    protected override ISessionStore CreateStore() => new StickySessionStore(
        StickyRedisUserSessionKit.Options("a"),
        new RedisSessionStore(redis.Redis, new RedisSessionStoreOptions { IdleTimeout = IdleTimeout, AbsoluteLifetime = AbsoluteLifetime, KeyPrefix = _prefix }, Time),
        Time);

    protected override async Task<int> IndexedCountAsync(string userId)
        => (int)await redis.Redis.GetDatabase().SetLengthAsync(new RedisKeys(_prefix).User(userId));

    public async ValueTask DisposeAsync() => await ((StickySessionStore)Store).DisposeAsync();
}

/// <summary>Issue 18: MaxSessionsPerUser on sticky nodes is the Redis backup's own, one script judging every node's sign-ins.</summary>
public sealed class StickyRedisUserSessionLimitTests(RedisFixture redis) : UserSessionLimitContract, IClassFixture<RedisFixture>, IAsyncDisposable
{
    private StickySessionStore? _store;

    protected override ISessionStore CreateStore(UserSessionLimitPolicy policy) => _store = new StickySessionStore(
        StickyRedisUserSessionKit.Options("a"),
        new RedisSessionStore(
            redis.Redis,
            new RedisSessionStoreOptions
            {
                IdleTimeout = IdleTimeout,
                KeyPrefix = RedisFixture.UniquePrefix("sticky-limit"),
                MaxSessionsPerUser = Limit,
                SessionLimitPolicy = policy,
            },
            Time),
        Time);

    public async ValueTask DisposeAsync()
    {
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }
    }
}

/// <summary>Two sticky nodes sharing a Redis backup and Redis pub/sub: ending a session by public id on one reaches the other.</summary>
public sealed class StickyRedisUserSessionTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    [Fact]
    public async Task RevokeUserSession_OnAnotherNode_OverRedisPubSub_TheOwnerServesItsCopyNoMore()
    {
        // The store clock is the test's, so that which session is least recently active is decided, not a millisecond race.
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero));
        var prefix = RedisFixture.UniquePrefix("sticky-user-session");
        var backup = new RedisSessionStore(redis.Redis, new RedisSessionStoreOptions { KeyPrefix = prefix, MaxSessionsPerUser = 2 }, time);
        using var busA = new RedisSessionInvalidationBus(redis.Redis, prefix);
        using var busB = new RedisSessionInvalidationBus(redis.Redis, prefix);
        await using var a = new StickySessionStore(StickyRedisUserSessionKit.Options("a"), backup, time, bus: busA);
        await using var b = new StickySessionStore(StickyRedisUserSessionKit.Options("b"), backup, time, bus: busB);
        var heardOnA = new Heard(busA);
        await busA.Listening.WaitAsync(TimeSpan.FromSeconds(10));
        await busB.Listening.WaitAsync(TimeSpan.FromSeconds(10));

        var phone = await SignInAsync(a, "ana");
        time.Advance(TimeSpan.FromSeconds(1));
        var laptop = await SignInAsync(a, "ana");
        var listed = (await b.ListUserSessionsAsync("ana")).Sessions.Select(s => s.PublicId).ToList();
        Assert.Equal(new[] { phone.Id, laptop.Id }.Order(StringComparer.Ordinal), listed.Order(StringComparer.Ordinal));

        Assert.True(await b.RevokeUserSessionAsync("ana", phone.Id!));
        await heardOnA.EndedAsync(phone.Id!);
        Assert.Null(await a.LoadAsync(phone.Ticket!));

        // Not read here: a read queues a refresh behind the request, which would make the laptop the most recently active.
        Assert.Equal(1, a.Count);

        // The backup's limit (2) signs out the least recently active on a sign-in made on b: a stops serving it too.
        time.Advance(TimeSpan.FromSeconds(1));
        await SignInAsync(b, "ana");
        time.Advance(TimeSpan.FromSeconds(1));
        var newest = await SignInAsync(b, "ana");
        await heardOnA.EndedAsync(laptop.Id!);
        Assert.Null(await a.LoadAsync(laptop.Ticket!));
        Assert.NotNull(await b.LoadAsync(newest.Ticket!));
        Assert.Equal(0, a.Count);
    }

    [Fact]
    public async Task UseSticky_WithARedisBackupStore_TheRegisteredStoreListsThroughIt()
    {
        var prefix = RedisFixture.UniquePrefix("sticky-di");
        var services = new ServiceCollection();
        services.AddStateKit(kit =>
        {
            kit.UseSticky(o =>
            {
                o.NodeId = "a";
                o.Keys.Add(new StickyKey { Id = "k1", Secret = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray() });
                o.BackupStoreName = "backup";
            });

            // Behind the circuit breaker UseRedis adds, which lists while closed.
            kit.AddStore("backup", b => b.UseRedis(redis.Configuration, o => o.KeyPrefix = prefix));
        });
        await using var provider = services.BuildServiceProvider();
        var store = provider.GetRequiredService<ISessionStore>();

        var session = await SignInAsync(store, "ana");

        Assert.True(store.Capabilities.ListsUserSessions);
        Assert.Equal(session.Id, Assert.Single((await ((ISessionLister)store).ListUserSessionsAsync("ana")).Sessions).PublicId);
    }

    private static async Task<StateSession> SignInAsync(ISessionStore store, string userId)
    {
        var session = store.Open(null);
        session.Set("n", 1, ContractJsonContext.Default.Int32);
        session.BindUser(userId);
        Assert.Equal(SessionCommitOutcome.Committed, (await session.CommitAsync()).Outcome);
        return session;
    }

    /// <summary>Which sessions a node's bus said were ended by public id; subscribed after the store, so the store has handled each first.</summary>
    private sealed class Heard
    {
        private readonly Dictionary<string, TaskCompletionSource> _ended = new(StringComparer.Ordinal);

        public Heard(ISessionInvalidationBus bus) => bus.Subscribe(m =>
        {
            if (m.SessionId is { } id && id.StartsWith("user-session", StringComparison.Ordinal))
            {
                Slot(id.Substring(id.IndexOf(':', StringComparison.Ordinal) + 1, 32)).TrySetResult();
            }
        });

        public Task EndedAsync(string publicId) => Slot(publicId).Task.WaitAsync(TimeSpan.FromSeconds(10));

        private TaskCompletionSource Slot(string publicId)
        {
            lock (_ended)
            {
                return _ended.TryGetValue(publicId, out var slot) ? slot : _ended[publicId] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }
    }
}

internal static class StickyRedisUserSessionKit
{
    private static readonly StickyKey Key = new() { Id = "k1", Secret = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray() };

    // Every read queues a refresh of the backup copy, which a listing or a sign-in writes first: exact last-active times.
    public static StickySessionStoreOptions Options(string node)
    {
        var options = new StickySessionStoreOptions
        {
            NodeId = node,
            Name = "sticky-" + node + "-" + Guid.NewGuid().ToString("N"),
            IdleTimeout = UserSessionListerContract.IdleTimeout,
            AbsoluteLifetime = UserSessionListerContract.AbsoluteLifetime,
            BackupRefreshInterval = TimeSpan.Zero,
        };
        options.Keys.Add(Key);
        return options;
    }
}
