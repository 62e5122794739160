using System;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using StateKit.DependencyInjection;
using StateKit.Events;
using StateKit.Tests.Events;

namespace StateKit.Tests.Distributed;

/// <summary>
/// An <c>IDistributedCache</c> drops what expires without telling anyone: the store raises what its commits show and
/// claims no more in its capabilities.
/// </summary>
public sealed class DistributedCacheSessionStoreEventsTests : IAsyncDisposable
{
    private readonly EventedServices _services = new();
    private readonly string _name = "distributed-" + Guid.NewGuid().ToString("N");

    public ValueTask DisposeAsync() => _services.DisposeAsync();

    [Fact]
    public async Task Commits_NewRotatedSignedOut_RaiseCreatedRotatedRevoked_AndExpiryRaisesNothing()
    {
        var store = await StartAsync();
        Assert.Equal(SessionEventKinds.Created | SessionEventKinds.Rotated | SessionEventKinds.Revoked, store.Capabilities.Events);

        var created = await SessionEventDispatcherTests.CommitNewAsync(store);
        var signIn = store.Open(created.Ticket);
        await signIn.LoadAsync();
        signIn.BindUser("carol");
        signIn.RotateId();
        var rotated = await signIn.CommitAsync();
        var signOut = store.Open(rotated.Ticket);
        await signOut.LoadAsync();
        signOut.Revoke();
        await signOut.CommitAsync();

        // A session that idles out is gone on its next load, and nothing could have told the store when it went.
        var idle = await SessionEventDispatcherTests.CommitNewAsync(store);
        _services.Time.Advance(TimeSpan.FromHours(2));
        Assert.Null(await store.LoadAsync(idle.Ticket!));

        await _services.DeliverAllAsync();
        var events = _services.Recorder.Events.Where(e => e.StoreName == _name).ToArray();
        Assert.Equal(
            [SessionEventKinds.Created, SessionEventKinds.Rotated, SessionEventKinds.Revoked, SessionEventKinds.Created],
            events.Select(e => e.Kind));
        Assert.Equal(SessionIds.ToPublicId(created.SessionId!), events[1].PreviousPublicId);
        Assert.Equal((SessionIds.ToPublicId(rotated.SessionId!), "carol"), (events[2].PublicId, events[2].UserId));
        Assert.Equal(SessionEventReason.SignOut, events[2].Reason);
        Assert.DoesNotContain(events, e => e.Kind == SessionEventKinds.Expired);
        _services.Recorder.AssertNeverCarries(created.Ticket!);
        _services.Recorder.AssertNeverCarries(rotated.Ticket!);
        _services.Recorder.AssertNeverCarries(idle.Ticket!);
    }

    private Task<ISessionStore> StartAsync() => _services.StartAsync(
        kit => kit.UseDistributedCache(o =>
        {
            o.Name = _name;
            o.IdleTimeout = TimeSpan.FromMinutes(20);
        }),
        services => services.AddDistributedMemoryCache(o => o.Clock = new FakeTimeSystemClock(_services.Time)));
}
