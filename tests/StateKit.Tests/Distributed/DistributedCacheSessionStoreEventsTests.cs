using System;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using StateKit.DependencyInjection;
using StateKit.Events;
using StateKit.Testing;
using StateKit.Tests.Events;

namespace StateKit.Tests.Distributed;

/// <summary>
/// An <c>IDistributedCache</c> drops what expires without telling anyone: the store raises what its commits show and
/// claims no more in its capabilities.
/// </summary>
public sealed class DistributedCacheSessionStoreEventsTests : IAsyncDisposable
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 30, 8, 0, 0, TimeSpan.Zero));
    private readonly SessionEventRecorder _recorder = new();
    private readonly string _name = "distributed-" + Guid.NewGuid().ToString("N");
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
        _time.Advance(TimeSpan.FromHours(2));
        Assert.Null(await store.LoadAsync(idle.Ticket!));

        await SessionEventRecorder.StopHostedAsync(_provider!);
        var events = _recorder.Events.Where(e => e.StoreName == _name).ToArray();
        Assert.Equal(
            [SessionEventKinds.Created, SessionEventKinds.Rotated, SessionEventKinds.Revoked, SessionEventKinds.Created],
            events.Select(e => e.Kind));
        Assert.Equal(SessionIds.ToPublicId(created.SessionId!), events[1].PreviousPublicId);
        Assert.Equal((SessionIds.ToPublicId(rotated.SessionId!), "carol"), (events[2].PublicId, events[2].UserId));
        Assert.Equal(SessionEventReason.SignOut, events[2].Reason);
        Assert.DoesNotContain(events, e => e.Kind == SessionEventKinds.Expired);
        _recorder.AssertNeverCarries(created.Ticket!);
        _recorder.AssertNeverCarries(rotated.Ticket!);
        _recorder.AssertNeverCarries(idle.Ticket!);
    }

    private async Task<ISessionStore> StartAsync()
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_time);
        services.AddDistributedMemoryCache(o => o.Clock = new FakeTimeSystemClock(_time));
        services.AddStateKit(kit => kit
            .UseDistributedCache(o =>
            {
                o.Name = _name;
                o.IdleTimeout = TimeSpan.FromMinutes(20);
            })
            .OnSessionEvent(_recorder.HandleAsync));
        _provider = services.BuildServiceProvider();
        await SessionEventRecorder.StartHostedAsync(_provider);
        return _provider.GetRequiredService<ISessionStore>();
    }
}
