using System;
using System.Diagnostics;
using System.Linq;
using System.Threading.Tasks;
using StackExchange.Redis;
using StateKit.Caching;
using StateKit.Redis.Testing;
using StateKit.Testing;

namespace StateKit.Redis.Tests;

/// <summary>
/// Two "nodes" over one Redis, each with its own multiplexer, store, pub/sub bus and near cache: a commit on one is seen
/// on the other's next load once the message arrived, and a dropped subscription connection flushes the other's cache.
/// </summary>
public sealed class RedisSessionInvalidationBusTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    [Fact]
    public async Task Commit_OnNodeA_IsSeenOnNodeBsNextLoad()
    {
        var prefix = RedisFixture.UniquePrefix("bus");
        await using var a = await Node.StartAsync(redis.Configuration, prefix, redis.Server.IsRealRedis);
        await using var b = await Node.StartAsync(redis.Configuration, prefix, redis.Server.IsRealRedis);
        var session = a.Cache.Open(null);
        session.Set("n", 1, ContractJsonContext.Default.Int32);
        await session.CommitAsync();
        var ticket = session.Ticket!;
        Assert.Equal(1, await ReadAsync(b.Cache, ticket));
        Assert.Equal(1, b.Cache.Count); // B holds version 1 now

        var write = a.Cache.Open(ticket);
        await write.LoadAsync();
        write.Set("n", 2, ContractJsonContext.Default.Int32);
        await write.CommitAsync();

        // Pub/sub is asynchronous: wait (bounded) for B to hear it, then B's next load must be the new version.
        await WaitUntilAsync(() => b.Cache.Count == 0);
        Assert.Equal(2, await ReadAsync(b.Cache, ticket));
    }

    [Fact]
    public async Task SubscriptionKilled_NodeBDropsEverythingItHolds()
    {
        var prefix = RedisFixture.UniquePrefix("bus-kill");
        await using var b = await Node.StartAsync(redis.Configuration, prefix, redis.Server.IsRealRedis);
        var store = new RedisSessionStore(redis.Redis, new RedisSessionStoreOptions { KeyPrefix = prefix });
        var session = store.Open(null);
        session.Set("n", 1, ContractJsonContext.Default.Int32);
        await session.CommitAsync();
        Assert.Equal(1, await ReadAsync(b.Cache, session.Ticket!));
        Assert.Equal(1, b.Cache.Count);

        // Messages sent while B's subscription is down would be lost: the bus must flush B instead. On redis-server only
        // B's subscription is killed (found by its client name), since other tests share this server and their
        // subscriptions must not drop. Garnet's CLIENT LIST does not show B's name and subscription count (and with a
        // client name configured, B dropped its cache before the kill there), so on Garnet every pub/sub connection goes.
        var server = redis.Admin.GetServer(redis.Server.Endpoint);
        var killed = 0;
        if (redis.Server.IsRealRedis)
        {
            foreach (var client in (await server.ClientListAsync()).Where(c => c.Name == b.Name && c.SubscriptionCount > 0))
            {
                await server.ClientKillAsync(client.Id);
                killed++;
            }
        }
        else
        {
            await server.ExecuteAsync("CLIENT", "KILL", "TYPE", "pubsub");
            killed = 1;
        }

        Assert.True(killed > 0, "B's subscription connection was not found in CLIENT LIST");

        await WaitUntilAsync(() => b.Cache.Count == 0);
        await WaitUntilAsync(() => b.Redis.GetSubscriber().IsConnected(RedisChannel.Literal(prefix + "invalidations")));
    }

    [Fact]
    public void Parse_OnlyIdAndVersion_AndRejectsGarbage()
    {
        Assert.True(RedisSessionInvalidationBus.TryParse("7:AAAAAAAAAAAAAAAAAAAAAA", out var one));
        Assert.Equal(("AAAAAAAAAAAAAAAAAAAAAA", 7L), (one.SessionId, one.Version));
        Assert.True(RedisSessionInvalidationBus.TryParse("*", out var all));
        Assert.True(all.IsAll);
        foreach (var bad in new[] { null, "", ":x", "7:", "-1:x", "x:y", "7" })
        {
            Assert.False(RedisSessionInvalidationBus.TryParse(bad, out _));
        }
    }

    [Fact]
    public async Task PublishAsync_UserRevocation_ReachesAnotherNodeWithTheUserId()
    {
        var prefix = RedisFixture.UniquePrefix("bus-user");
        using var a = new RedisSessionInvalidationBus(redis.Redis, prefix);
        using var b = new RedisSessionInvalidationBus(redis.Redis, prefix);
        var heard = new TaskCompletionSource<SessionInvalidation>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = b.Subscribe(m =>
        {
            if (m.UserId is not null)
            {
                heard.TrySetResult(m);
            }
        });
        await b.Listening.WaitAsync(TimeSpan.FromSeconds(10));

        await a.PublishAsync(SessionInvalidation.ForUser("ana:1"));

        var message = await heard.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("ana:1", message.UserId);
        Assert.Null(message.SessionId);
        Assert.True(message.IsAll); // a near cache, which keeps no user index, drops everything
        Assert.False(RedisSessionInvalidationBus.TryParse("u:", out _));
    }

    [Fact]
    public void Parse_PublicIdRevocation_RoundTripsAndRejectsGarbage()
    {
        var publicId = SessionIds.ToPublicId(SessionIds.NewId());

        Assert.True(RedisSessionInvalidationBus.TryParse($"p:{publicId}:ana:1", out var message));

        Assert.Equal((publicId, "ana:1"), (message.PublicId, message.OwnerId));
        Assert.Null(message.UserId); // not "sign out everywhere": a sticky node must not end the user's other sessions
        Assert.Null(message.SessionId);
        foreach (var bad in new[] { "p:", $"p:{publicId}", $"p:{publicId}:", $"p:{publicId.ToUpperInvariant()}:ana", $"p:{publicId[1..]}:ana", $"p:{publicId}ana" })
        {
            Assert.False(RedisSessionInvalidationBus.TryParse(bad, out _), bad);
        }
    }

    [Fact]
    public async Task RevokeUserSession_OnNodeA_NodeBStopsServingItsCachedCopyAndKeepsTheOthers()
    {
        var prefix = RedisFixture.UniquePrefix("bus-public-id");
        await using var a = await Node.StartAsync(redis.Configuration, prefix, redis.Server.IsRealRedis);
        await using var b = await Node.StartAsync(redis.Configuration, prefix, redis.Server.IsRealRedis);
        var phone = await SignInAsync(a.Cache, "ana", 1);
        var laptop = await SignInAsync(a.Cache, "ana", 2);
        Assert.Equal(1, await ReadAsync(b.Cache, phone));
        Assert.Equal(2, await ReadAsync(b.Cache, laptop));
        Assert.Equal((0, 2), (a.Cache.Count, b.Cache.Count)); // A never loaded the phone's session: it cannot name its id

        Assert.True(await a.Cache.RevokeUserSessionAsync("ana", SessionIds.ToPublicId(phone)));

        await WaitUntilAsync(() => b.Cache.Count == 1);
        Assert.Null(await b.Cache.LoadAsync(phone));
        Assert.Equal(2, await ReadAsync(b.Cache, laptop));
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public async Task SignInPastTheLimit_OnNodeA_NodeBStopsServingTheSessionRedisSignedOut(bool bindAnonymousSession, bool rotate)
    {
        var prefix = RedisFixture.UniquePrefix("bus-limit");
        await using var a = await Node.StartAsync(redis.Configuration, prefix, redis.Server.IsRealRedis, maxSessionsPerUser: 1);
        await using var b = await Node.StartAsync(redis.Configuration, prefix, redis.Server.IsRealRedis, maxSessionsPerUser: 1);
        var phone = await SignInAsync(b.Cache, "ana", 1);
        Assert.Equal(1, await ReadAsync(b.Cache, phone));
        Assert.Equal(1, b.Cache.Count);

        var laptop = await SignInAsync(a.Cache, "ana", 2, bindAnonymousSession, rotate); // Redis signs the phone out to make room

        await WaitUntilAsync(() => b.Cache.Count == 0);
        Assert.Null(await b.Cache.LoadAsync(phone));
        Assert.Equal(2, await ReadAsync(b.Cache, laptop));
    }

    private static async Task<string> SignInAsync(ISessionStore store, string userId, int n, bool bindAnonymousSession = false, bool rotate = false)
    {
        string? ticket = null;
        if (bindAnonymousSession)
        {
            var anonymous = store.Open(null);
            anonymous.Set("n", n, ContractJsonContext.Default.Int32);
            ticket = (await anonymous.CommitAsync()).Ticket!;
        }

        var session = store.Open(ticket);
        await session.LoadAsync();
        session.Set("n", n, ContractJsonContext.Default.Int32);
        session.BindUser(userId);
        if (rotate)
        {
            session.RotateId();
        }

        var result = await session.CommitAsync();
        Assert.Equal(SessionCommitOutcome.Committed, result.Outcome);
        return result.Ticket ?? ticket!;
    }

    private static async Task<int> ReadAsync(ISessionStore store, string ticket)
    {
        var session = store.Open(ticket);
        await session.LoadAsync();
        return session.Get("n", ContractJsonContext.Default.Int32);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var started = Stopwatch.GetTimestamp();
        while (!condition())
        {
            Assert.True(Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(10), "not within 10 s");
            await Task.Delay(TimeSpan.FromMilliseconds(10), TimeProvider.System);
        }
    }

    private sealed class Node : IAsyncDisposable
    {
        private Node(string name, ConnectionMultiplexer redis, RedisSessionInvalidationBus bus, NearCacheSessionStore cache)
        {
            Name = name;
            Redis = redis;
            Bus = bus;
            Cache = cache;
        }

        public string Name { get; }

        public ConnectionMultiplexer Redis { get; }

        public RedisSessionInvalidationBus Bus { get; }

        public NearCacheSessionStore Cache { get; }

        public static async Task<Node> StartAsync(string configuration, string prefix, bool realRedis, int maxSessionsPerUser = 0)
        {
            var name = "node-" + Guid.NewGuid().ToString("N");
            var redis = await ConnectionMultiplexer.ConnectAsync(realRedis ? configuration + ",name=" + name : configuration);
            var bus = new RedisSessionInvalidationBus(redis, prefix);
            var cache = new NearCacheSessionStore(new RedisSessionStore(redis, new RedisSessionStoreOptions { KeyPrefix = prefix, MaxSessionsPerUser = maxSessionsPerUser }), new NearCacheOptions(), bus);
            await WaitUntilAsync(() => redis.GetSubscriber().IsConnected(RedisChannel.Literal(prefix + "invalidations")));

            // The bus flushes its handlers once its subscription is live; a read before that flush would be dropped by it.
            await bus.Listening.WaitAsync(TimeSpan.FromSeconds(10));
            return new Node(name, redis, bus, cache);
        }

        public async ValueTask DisposeAsync()
        {
            Cache.Dispose();
            Bus.Dispose();
            await Redis.DisposeAsync();
        }
    }
}
