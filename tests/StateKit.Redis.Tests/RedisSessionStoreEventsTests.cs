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
        await using var a = await RedisEventNode.StartAsync(keyspace.Server.Endpoint, prefix, "redis-a", TimeProvider.System);
        await using var b = await RedisEventNode.StartAsync(keyspace.Server.Endpoint, prefix, "redis-b", TimeProvider.System);
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
        await using var a = await RedisEventNode.StartAsync(keyspace.Server.Endpoint, prefix, "redis", TimeProvider.System, o => o.ExpiryEventsOncePerCluster = true);
        await using var b = await RedisEventNode.StartAsync(keyspace.Server.Endpoint, prefix, "redis", TimeProvider.System, o => o.ExpiryEventsOncePerCluster = true);
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
        await using var node = await RedisEventNode.StartAsync(keyspace.Server.Endpoint, prefix, "redis", TimeProvider.System, allowAdmin: false);

        Assert.True(await node.Raw.ListeningForExpiry);
        var ids = await CreateAsync(node.Store, 1);
        await ExpireAllAsync(prefix, ids, node);
        await node.Recorder.WaitForAsync(SessionEventKinds.Expired, ids[0]);
    }

    [Fact]
    public async Task ExpiryNotifications_ServerHasThemOff_DetectsItAndDoesNotChangeTheServer()
    {
        var before = await ConfigAsync(plain.Admin);
        await using var node = await RedisEventNode.StartAsync(plain.Server.Endpoint, RedisFixture.UniquePrefix("events-off"), "redis", TimeProvider.System);

        Assert.False(await node.Raw.ListeningForExpiry);
        Assert.Equal(before, await ConfigAsync(plain.Admin));
        Assert.False(RedisExpiryListener.SendsExpiredEvents(before));
    }

    [Fact]
    public async Task ExpiryNotificationsEnable_ServerHasThemOff_TurnsThemOnAndReports()
    {
        await using var server = await TestServer.StartRedisAsync([]);
        var prefix = RedisFixture.UniquePrefix("events-enable");
        await using var node = await RedisEventNode.StartAsync(server.Endpoint, prefix, "redis", TimeProvider.System, o => o.ExpiryNotifications = RedisExpiryNotifications.Enable);
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
        await using var node = await RedisEventNode.StartAsync(plain.Server.Endpoint, RedisFixture.UniquePrefix("events-load"), "redis", time);
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
        await using var node = await RedisEventNode.StartAsync(plain.Server.Endpoint, RedisFixture.UniquePrefix("events-user"), "redis", TimeProvider.System);
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

    private Task ExpireAllAsync(string prefix, string[] ids, params RedisEventNode[] nodes) => RedisEventNode.ExpireAllAsync(prefix, ids, keyspace.Direct, nodes);

    private static Task ExpireAllAsync(string prefix, string[] ids, IConnectionMultiplexer direct, params RedisEventNode[] nodes) => RedisEventNode.ExpireAllAsync(prefix, ids, direct, nodes);

    private static Task<string[]> CreateAsync(ISessionStore store, int count) => RedisEventNode.CreateAsync(store, count);
}
