using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;
using StateKit.DependencyInjection;
using StateKit.Events;
using StateKit.Redis.Testing;
using StateKit.Testing;

namespace StateKit.Redis.Tests;

/// <summary>Session events from the Redis store, on real redis-servers: keyspace notifications, the once-per-cluster claim, expiry seen on load.</summary>
public sealed class RedisSessionStoreEventsTests(RedisKeyspaceFixture keyspace, RedisFixture plain) : IClassFixture<RedisKeyspaceFixture>, IClassFixture<RedisFixture>
{
    [Fact]
    public async Task ExpiryNotifications_TwoNodesListening_EachNodeReportsEachExpiryOnce()
    {
        var prefix = RedisFixture.UniquePrefix("events-per-node");
        await using var a = await Node.StartAsync(keyspace.Server.Endpoint, prefix, "redis-a", TimeProvider.System);
        await using var b = await Node.StartAsync(keyspace.Server.Endpoint, prefix, "redis-b", TimeProvider.System);
        Assert.True(await a.Raw.ListeningForExpiry);
        Assert.True(await b.Raw.ListeningForExpiry);
        var ids = await CreateAsync(a.Store, 5);

        await ExpireAllAsync(prefix, ids, a, b);

        await a.StopAsync();
        await b.StopAsync();
        foreach (var node in new[] { a, b })
        {
            var expired = node.Recorder.Events.Where(e => e.Kind == SessionEventKinds.Expired).ToArray();
            Assert.Equal(ids.Select(SessionIds.ToPublicId).Order(), expired.Select(e => e.PublicId).Order());
            Assert.All(expired, e => Assert.Equal(SessionEventReason.BackendTtl, e.Reason));
            Assert.All(ids, node.Recorder.AssertNeverCarries);
        }
    }

    [Fact]
    public async Task ExpiryEventsOncePerCluster_TwoNodesListening_ExactlyOneNodeReportsEachExpiry()
    {
        var prefix = RedisFixture.UniquePrefix("events-once");
        await using var a = await Node.StartAsync(keyspace.Server.Endpoint, prefix, "redis", TimeProvider.System, o => o.ExpiryEventsOncePerCluster = true);
        await using var b = await Node.StartAsync(keyspace.Server.Endpoint, prefix, "redis", TimeProvider.System, o => o.ExpiryEventsOncePerCluster = true);
        Assert.True(await a.Raw.ListeningForExpiry);
        Assert.True(await b.Raw.ListeningForExpiry);
        var ids = await CreateAsync(a.Store, 20);

        // Both nodes handle every notification (claimed, or lost the claim) before the queues are flushed and counted.
        await ExpireAllAsync(prefix, ids, a, b);

        await a.StopAsync();
        await b.StopAsync();
        var expired = a.Recorder.Events.Concat(b.Recorder.Events).Where(e => e.Kind == SessionEventKinds.Expired).Select(e => e.PublicId).ToArray();
        Assert.Equal(ids.Select(SessionIds.ToPublicId).Order(), expired.Order());
    }

    [Fact]
    public async Task ExpiryNotifications_ConnectionWithoutAdmin_CannotReadTheSettingListensAnywayAndReports()
    {
        var prefix = RedisFixture.UniquePrefix("events-no-admin");
        await using var node = await Node.StartAsync(keyspace.Server.Endpoint, prefix, "redis", TimeProvider.System, allowAdmin: false);

        Assert.True(await node.Raw.ListeningForExpiry);
        var ids = await CreateAsync(node.Store, 1);
        await ExpireAllAsync(prefix, ids, node);
        await node.Recorder.WaitForAsync(SessionEventKinds.Expired, ids[0]);
    }

    [Fact]
    public async Task ExpiryNotifications_ServerHasThemOff_DetectsItAndDoesNotChangeTheServer()
    {
        var before = await ConfigAsync(plain.Admin);
        await using var node = await Node.StartAsync(plain.Server.Endpoint, RedisFixture.UniquePrefix("events-off"), "redis", TimeProvider.System);

        Assert.False(await node.Raw.ListeningForExpiry);
        Assert.Equal(before, await ConfigAsync(plain.Admin));
        Assert.False(RedisExpiryListener.SendsExpiredEvents(before));
    }

    [Fact]
    public async Task ExpiryNotificationsEnable_ServerHasThemOff_TurnsThemOnAndReports()
    {
        await using var server = await TestServer.StartRedisAsync([]);
        var prefix = RedisFixture.UniquePrefix("events-enable");
        await using var node = await Node.StartAsync(server.Endpoint, prefix, "redis", TimeProvider.System, o => o.ExpiryNotifications = RedisExpiryNotifications.Enable);
        await using var admin = await ConnectionMultiplexer.ConnectAsync($"{server.Endpoint},allowAdmin=true");

        Assert.True(await node.Raw.ListeningForExpiry);
        Assert.True(RedisExpiryListener.SendsExpiredEvents(await ConfigAsync(admin)));
        var ids = await CreateAsync(node.Store, 1);
        await ExpireAllAsync(prefix, ids, admin, node);
        await node.Recorder.WaitForAsync(SessionEventKinds.Expired, ids[0]);
    }

    [Fact]
    public async Task Load_SessionPastItsDeadlineBeforeRedisRemovedIt_RaisesExpiredWithItsReason()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var node = await Node.StartAsync(plain.Server.Endpoint, RedisFixture.UniquePrefix("events-load"), "redis", time);
        var session = node.Store.Open(null);
        session.SetBytes("cart", "1"u8);
        session.BindUser("gina");
        var created = await session.CommitAsync();

        // The store's clock passes the idle deadline; Redis's TTL (real time) has not fired yet.
        time.Advance(TimeSpan.FromMinutes(21));
        Assert.Null(await node.Store.LoadAsync(created.Ticket!));

        var expired = await node.Recorder.WaitForAsync(SessionEventKinds.Expired, created.SessionId!);
        Assert.Equal((SessionEventReason.IdleTimeout, "redis"), (expired.Reason, expired.StoreName));
        node.Recorder.AssertNeverCarries(created.Ticket!);
    }

    [Fact]
    public async Task RevokeUser_RaisesRevokedForEachSessionOfTheUser()
    {
        await using var node = await Node.StartAsync(plain.Server.Endpoint, RedisFixture.UniquePrefix("events-user"), "redis", TimeProvider.System);
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var session = node.Store.Open(null);
            session.SetBytes("cart", "1"u8);
            session.BindUser("hank");
            ids.Add((await session.CommitAsync()).SessionId!);
        }

        Assert.Equal(3, await node.Store.RevokeUserAsync("hank"));

        foreach (var id in ids)
        {
            var revoked = await node.Recorder.WaitForAsync(SessionEventKinds.Revoked, id);
            Assert.Equal((SessionEventReason.RevokedByUser, "hank"), (revoked.Reason, revoked.UserId));
            node.Recorder.AssertNeverCarries(id);
        }

        Assert.Equal(SessionEventKinds.Created | SessionEventKinds.Rotated | SessionEventKinds.Revoked | SessionEventKinds.Expired, node.Store.Capabilities.Events);
    }

    [Fact]
    public void Options_UndefinedExpiryNotifications_FailValidationSayingWhatToUse()
    {
        var error = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(
            () => new RedisSessionStore(plain.Redis, new RedisSessionStoreOptions { ExpiryNotifications = (RedisExpiryNotifications)7 }));

        Assert.Contains(error.Failures, f => f.Contains("ExpiryNotifications", StringComparison.Ordinal) && f.Contains("Detect", StringComparison.Ordinal));
    }

    private static async Task<string> ConfigAsync(IConnectionMultiplexer admin)
    {
        var reply = (RedisResult[])(await admin.GetDatabase().ExecuteAsync("CONFIG", "GET", "notify-keyspace-events"))!;
        return (string)reply[1]!;
    }

    private static async Task<string[]> CreateAsync(ISessionStore store, int count)
    {
        var ids = new string[count];
        for (var i = 0; i < count; i++)
        {
            var session = store.Open(null);
            session.SetBytes("cart", "1"u8);
            ids[i] = (await session.CommitAsync()).SessionId!;
        }

        return ids;
    }

    // Redis expires each key as its TTL would; every node's listener signals once it handled each notification.
    private Task ExpireAllAsync(string prefix, string[] ids, params Node[] nodes) => ExpireAllAsync(prefix, ids, keyspace.Direct, nodes);

    private static async Task ExpireAllAsync(string prefix, string[] ids, IConnectionMultiplexer direct, params Node[] nodes)
    {
        var handled = nodes.Select(n => n.Expect(ids)).ToArray();
        var db = direct.GetDatabase();
        // Not 1 ms: Redis 7.0 adds a relative TTL to the command's start time but checks it against the clock read after, so a
        // 1 ms TTL sometimes counts as already past and the key is deleted on the spot, as DEL ("del" event, no "expired"):
        // about 1 key in 2,000 with redis-cli, the cause of this class's rare 30 s timeouts.
        foreach (var id in ids)
        {
            Assert.True(await db.KeyExpireAsync($"{prefix}s:{{{id}}}", TimeSpan.FromMilliseconds(20)));
        }

        // Reading a key past its TTL expires it there and then (and notifies), rather than whenever Redis's background
        // cycle samples it: the wait polls the key's real state, 1 ms at a time (the TTLs run out together, in about 20 ms).
        foreach (var id in ids)
        {
            while (await db.KeyExistsAsync($"{prefix}s:{{{id}}}"))
            {
                await Task.Delay(1);
            }
        }

        try
        {
            await Task.WhenAll(handled).WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            var left = await Task.WhenAll(ids.Select(async id => (id, await db.KeyExistsAsync($"{prefix}s:{{{id}}}"))));
            throw new TimeoutException($"Not every node handled every expiry: {string.Join("; ", nodes.Select(n => n.Pending))}; keys still present: {left.Count(l => l.Item2)}.");
        }
    }

    private sealed class Node : IAsyncDisposable
    {
        private readonly ServiceProvider _provider;
        private readonly ConnectionMultiplexer _redis;
        private bool _stopped;

        private Node(ServiceProvider provider, ConnectionMultiplexer redis, SessionEventRecorder recorder)
        {
            _provider = provider;
            _redis = redis;
            Recorder = recorder;
            Store = provider.GetRequiredService<ISessionStore>();
            Raw = provider.GetRequiredService<RawStore>().Store!;
        }

        public SessionEventRecorder Recorder { get; }

        public ISessionStore Store { get; }

        public RedisSessionStore Raw { get; }

        public static async Task<Node> StartAsync(string endpoint, string prefix, string name, TimeProvider time, Action<RedisSessionStoreOptions>? configure = null, bool allowAdmin = true)
        {
            // allowAdmin, so that the store can read (and, when told to, set) notify-keyspace-events. A patient asyncTimeout:
            // a claim that timed out on a starved CI machine would be reported by both nodes (at least once, by design),
            // which is not what these tests are about.
            var redis = await ConnectionMultiplexer.ConnectAsync(
                $"{endpoint},abortConnect=false,asyncTimeout=30000,allowAdmin={(allowAdmin ? "true" : "false")}");
            var recorder = new SessionEventRecorder();
            var raw = new RawStore();
            var services = new ServiceCollection();
            services.AddSingleton(time);
            services.AddSingleton(raw);
            services.AddStateKit(kit => kit
                .UseStore<RedisSessionStoreOptions>(
                    "redis",
                    o =>
                    {
                        o.KeyPrefix = prefix;
                        o.Name = name;
                        configure?.Invoke(o);
                    },
                    (sp, o) => raw.Store = new RedisSessionStore(redis, o, sp.GetService<TimeProvider>()))
                .OnSessionEvent(recorder.HandleAsync));
            var provider = services.BuildServiceProvider();
            await SessionEventRecorder.StartHostedAsync(provider);
            return new Node(provider, redis, recorder);
        }

        public string Pending { get; private set; } = string.Empty;

        /// <summary>A task that completes once this node's listener handled a notification for every one of <paramref name="ids"/>.</summary>
        public Task Expect(string[] ids)
        {
            var pending = new HashSet<string>(ids, StringComparer.Ordinal);
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Raw.ExpiryListener!.Handled = id =>
            {
                lock (pending)
                {
                    if (pending.Remove(id) && pending.Count == 0)
                    {
                        done.TrySetResult();
                    }

                    Pending = $"{Raw.GetHashCode()}: {pending.Count} left";
                }
            };
            return done.Task;
        }

        /// <summary>Stops the node's event queue after it delivered everything raised so far.</summary>
        public async Task StopAsync()
        {
            if (!_stopped)
            {
                _stopped = true;
                await SessionEventRecorder.StopHostedAsync(_provider);
            }
        }

        public async ValueTask DisposeAsync()
        {
            await StopAsync();
            Raw.Dispose();
            await _provider.DisposeAsync();
            await _redis.DisposeAsync();
        }
    }

    private sealed class RawStore
    {
        public RedisSessionStore? Store { get; set; }
    }
}
