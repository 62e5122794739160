using System;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using StateKit.DependencyInjection;
using StateKit.Events;
using StateKit.Testing;

namespace StateKit.Tests.Tiering;

/// <summary>
/// A tiered store is no store of its own: each tier is a registered store and raises its own events under its own name,
/// and the tiered store's capabilities are the union of what its tiers can raise.
/// </summary>
public sealed class TieredSessionStoreEventsTests : IAsyncDisposable
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 30, 8, 0, 0, TimeSpan.Zero));
    private readonly SessionEventRecorder _recorder = new();
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
    public async Task NewSessionAcrossTwoTiers_ThenSignOut_EachTierRaisesCreatedAndRevokedUnderItsOwnName()
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_time);
        services.AddStateKit(kit => kit
            .AddTier("cart-tier", t => t.UseInMemory())
            .AddTier("prefs-tier", t => t.UseInMemory())
            .MapKey("cart", "cart-tier")
            .MapKey("theme", "prefs-tier")
            .OnSessionEvent(_recorder.HandleAsync));
        _provider = services.BuildServiceProvider();
        await SessionEventRecorder.StartHostedAsync(_provider);
        var store = _provider.GetRequiredService<ISessionStore>();
        var tiers = _provider.GetRequiredService<SessionStores>();
        Assert.Equal(tiers.GetStore("cart-tier").Capabilities.Events | tiers.GetStore("prefs-tier").Capabilities.Events, store.Capabilities.Events);
        Assert.True(store.Capabilities.Events.HasFlag(SessionEventKinds.Expired));

        var session = store.Open(null);
        session.SetBytes("cart", Encoding.UTF8.GetBytes("tea"));
        session.SetBytes("theme", Encoding.UTF8.GetBytes("dark"));
        var created = await session.CommitAsync();
        var signOut = store.Open(created.Ticket);
        await signOut.LoadAsync();
        signOut.Revoke();
        await signOut.CommitAsync();

        await SessionEventRecorder.StopHostedAsync(_provider);
        var events = _recorder.Events;
        Assert.Equal(["cart-tier", "prefs-tier"], events.Select(e => e.StoreName).Distinct().Order());
        foreach (var tier in new[] { "cart-tier", "prefs-tier" })
        {
            var own = events.Where(e => e.StoreName == tier).ToArray();
            Assert.Equal([SessionEventKinds.Created, SessionEventKinds.Revoked], own.Select(e => e.Kind));
            Assert.Equal(own[0].PublicId, own[1].PublicId);
        }

        // Each tier keeps its own session, so the two tiers' public ids differ, and neither is the composite ticket's.
        Assert.NotEqual(events.First(e => e.StoreName == "cart-tier").PublicId, events.First(e => e.StoreName == "prefs-tier").PublicId);
        _recorder.AssertNeverCarries(created.Ticket!);
    }
}
