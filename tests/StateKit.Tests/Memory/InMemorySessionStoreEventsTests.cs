using System;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using StateKit.DependencyInjection;
using StateKit.Events;
using StateKit.Memory;
using StateKit.Testing;
using StateKit.Tests.Events;

namespace StateKit.Tests.Memory;

public sealed class InMemorySessionStoreEventsTests : IAsyncDisposable
{
    private static readonly TimeSpan Idle = TimeSpan.FromMinutes(20);
    private static readonly TimeSpan Sweep = TimeSpan.FromSeconds(30);

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 30, 8, 0, 0, TimeSpan.Zero));
    private readonly SessionEventRecorder _recorder = new();
    private readonly string _name = "memory-" + Guid.NewGuid().ToString("N");
    private ServiceProvider? _provider;

    public async ValueTask DisposeAsync()
    {
        if (_provider is not null)
        {
            await SessionEventRecorder.StopHostedAsync(_provider);
            await _provider.DisposeAsync();
        }
    }

    [Fact]
    public async Task Commits_NewRotatedSignedOut_RaiseCreatedRotatedRevokedByPublicIdOnly()
    {
        var store = await StartAsync();

        var created = await SessionEventDispatcherTests.CommitNewAsync(store);
        var signIn = store.Open(created.Ticket);
        await signIn.LoadAsync();
        signIn.BindUser("alice");
        signIn.RotateId();
        var rotated = await signIn.CommitAsync();
        var signOut = store.Open(rotated.Ticket);
        await signOut.LoadAsync();
        signOut.Revoke();
        await signOut.CommitAsync();

        var revoked = await _recorder.WaitForAsync(SessionEventKinds.Revoked, rotated.SessionId!);
        var events = _recorder.Events.Where(e => e.StoreName == _name).ToArray();
        Assert.Equal([SessionEventKinds.Created, SessionEventKinds.Rotated, SessionEventKinds.Revoked], events.Select(e => e.Kind));
        Assert.Equal(SessionIds.ToPublicId(created.SessionId!), events[0].PublicId);
        Assert.Equal(SessionIds.ToPublicId(created.SessionId!), events[1].PreviousPublicId);
        Assert.Equal(SessionIds.ToPublicId(rotated.SessionId!), events[1].PublicId);
        Assert.Equal("alice", events[1].UserId);
        Assert.Equal((SessionEventReason.SignOut, "alice"), (revoked.Reason, revoked.UserId));
        Assert.All(events, e => Assert.Equal(_time.GetUtcNow(), e.Time));
        _recorder.AssertNeverCarries(created.Ticket!);
        _recorder.AssertNeverCarries(rotated.Ticket!);
    }

    [Fact]
    public async Task Revoke_ByIdAndByUser_RaisesOneRevokedPerSessionWithItsReason()
    {
        var store = await StartAsync();
        var one = await CreateBoundAsync(store, "bob");
        var two = await CreateBoundAsync(store, "bob");
        var other = await SessionEventDispatcherTests.CommitNewAsync(store);

        Assert.True(await store.RevokeAsync(other.SessionId!));
        Assert.Equal(2, await store.RevokeUserAsync("bob"));

        var byId = await _recorder.WaitForAsync(SessionEventKinds.Revoked, other.SessionId!);
        var byUser1 = await _recorder.WaitForAsync(SessionEventKinds.Revoked, one);
        var byUser2 = await _recorder.WaitForAsync(SessionEventKinds.Revoked, two);
        Assert.Equal(SessionEventReason.RevokedById, byId.Reason);
        Assert.Equal((SessionEventReason.RevokedByUser, "bob"), (byUser1.Reason, byUser1.UserId));
        Assert.Equal((SessionEventReason.RevokedByUser, "bob"), (byUser2.Reason, byUser2.UserId));
        _recorder.AssertNeverCarries(one);
        _recorder.AssertNeverCarries(other.SessionId!);
    }

    [Fact]
    public async Task Expiry_IdleSessionNoRequestTouchesAgain_TheSweepRaisesExpiredOnce()
    {
        var store = await StartAsync();
        var id = await CreateBoundAsync(store, "carol");

        // Sweeps every 30 s of the fake clock; the one at the idle deadline finds it.
        _time.Advance(Idle - Sweep);
        _time.Advance(Sweep);
        _time.Advance(Sweep);

        var expired = await _recorder.WaitForAsync(SessionEventKinds.Expired, id);
        Assert.Equal((SessionEventReason.IdleTimeout, "carol", _name), (expired.Reason, expired.UserId, expired.StoreName));
        Assert.Null(await store.LoadAsync(id));
        await SessionEventRecorder.StopHostedAsync(_provider!);
        Assert.Single(_recorder.Events, e => e.Kind == SessionEventKinds.Expired);
        _recorder.AssertNeverCarries(id);
    }

    [Fact]
    public async Task Expiry_AbsoluteLifetimeMetOnLoad_RaisesExpiredWithItsReason()
    {
        var store = await StartAsync(o => o.AbsoluteLifetime = TimeSpan.FromMinutes(30));
        var id = await CreateBoundAsync(store, "dave");

        // Active enough never to idle out: the absolute deadline ends it.
        _time.Advance(TimeSpan.FromMinutes(15));
        Assert.NotNull(await store.LoadAsync(id));
        _time.Advance(TimeSpan.FromMinutes(15));
        Assert.Null(await store.LoadAsync(id));

        var expired = await _recorder.WaitForAsync(SessionEventKinds.Expired, id);
        Assert.Equal(SessionEventReason.AbsoluteLifetime, expired.Reason);
    }

    [Fact]
    public async Task Eviction_OverMaxSessions_RaisesEvictedForTheColdestAnonymousSession()
    {
        var store = await StartAsync(o => o.MaxSessions = 2);
        var cold = await SessionEventDispatcherTests.CommitNewAsync(store);
        _time.Advance(TimeSpan.FromSeconds(1));
        await SessionEventDispatcherTests.CommitNewAsync(store);
        _time.Advance(TimeSpan.FromSeconds(1));
        await SessionEventDispatcherTests.CommitNewAsync(store);

        var evicted = await _recorder.WaitForAsync(SessionEventKinds.Evicted, cold.SessionId!);
        Assert.Equal(SessionEventReason.MaxSessions, evicted.Reason);
        Assert.Null(await store.LoadAsync(cold.Ticket!));
    }

    private static async Task<string> CreateBoundAsync(ISessionStore store, string user)
    {
        var session = store.Open(null);
        session.SetBytes("cart", Encoding.UTF8.GetBytes("1"));
        session.BindUser(user);
        return (await session.CommitAsync()).SessionId!;
    }

    private async Task<ISessionStore> StartAsync(Action<InMemorySessionStoreOptions>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_time);
        services.AddSingleton(_recorder);
        services.AddStateKit(kit => kit
            .UseInMemory(o =>
            {
                o.Name = _name;
                o.IdleTimeout = Idle;
                configure?.Invoke(o);
            })
            .ConfigureSessionEvents(o => o.ExpirySweepInterval = Sweep)
            .OnSessionEvent(_recorder.HandleAsync));
        _provider = services.BuildServiceProvider();
        await SessionEventRecorder.StartHostedAsync(_provider);
        return _provider.GetRequiredService<ISessionStore>();
    }
}
