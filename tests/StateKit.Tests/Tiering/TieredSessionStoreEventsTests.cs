using System;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using StateKit.DependencyInjection;
using StateKit.Events;
using StateKit.Tests.Events;

namespace StateKit.Tests.Tiering;

/// <summary>
/// A tiered store is no store of its own: each tier is a registered store and raises its own events under its own name,
/// and the tiered store's capabilities are the union of what its tiers can raise.
/// </summary>
public sealed class TieredSessionStoreEventsTests : IAsyncDisposable
{
    private readonly EventedServices _services = new();

    public ValueTask DisposeAsync() => _services.DisposeAsync();

    [Fact]
    public async Task NewSessionAcrossTwoTiers_ThenSignOut_EachTierRaisesCreatedAndRevokedUnderItsOwnName()
    {
        var store = await _services.StartAsync(kit => kit
            .AddTier("cart-tier", t => t.UseInMemory())
            .AddTier("prefs-tier", t => t.UseInMemory())
            .MapKey("cart", "cart-tier")
            .MapKey("theme", "prefs-tier"));
        var tiers = _services.Provider.GetRequiredService<SessionStores>();
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

        await _services.DeliverAllAsync();
        var events = _services.Recorder.Events;
        Assert.Equal(["cart-tier", "prefs-tier"], events.Select(e => e.StoreName).Distinct().Order());
        foreach (var tier in new[] { "cart-tier", "prefs-tier" })
        {
            var own = events.Where(e => e.StoreName == tier).ToArray();
            Assert.Equal([SessionEventKinds.Created, SessionEventKinds.Revoked], own.Select(e => e.Kind));
            Assert.Equal(own[0].PublicId, own[1].PublicId);
        }

        // Each tier keeps its own session, so the two tiers' public ids differ, and neither is the composite ticket's.
        Assert.NotEqual(events.First(e => e.StoreName == "cart-tier").PublicId, events.First(e => e.StoreName == "prefs-tier").PublicId);
        _services.Recorder.AssertNeverCarries(created.Ticket!);
    }
}
