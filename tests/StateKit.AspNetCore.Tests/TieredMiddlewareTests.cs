using System;
using System.Linq;
using System.Threading.Tasks;
using StateKit.ClientSide;
using StateKit.DependencyInjection;

namespace StateKit.AspNetCore.Tests;

/// <summary>A tiered store over HTTP: one cookie per tier, and a commit rewrites only the tiers it changed.</summary>
public sealed class TieredMiddlewareTests : MiddlewareContract
{
    protected override void Configure(StateKitBuilder kit, int? maxPayloadBytes = null) => kit
        .AddTier("critical", t => t.UseInMemory(o => o.MaxPayloadBytes = maxPayloadBytes ?? o.MaxPayloadBytes))
        .AddTier("prefs", t => t.UseClientSide(o =>
        {
            o.Keys.Add(new ClientSideKey(1, TestStores.SealKey));
            o.MaxPayloadBytes = maxPayloadBytes ?? o.MaxPayloadBytes;
        }))
        .MapKey("theme", "prefs")
        .WithDefaultTier("critical");

    protected override string TicketCookie => "__Host-statekit.critical";

    [Fact]
    public async Task EachTierTravelsInItsOwnCookie_AndOnlyChangedTiersAreRewritten()
    {
        await using var app = await TestApp.StartAsync(kit => Configure(kit), Endpoints.Map);

        await app.Client.PostAsync("/set/cart/book");
        Assert.StartsWith("__Host-statekit.critical=", Assert.Single(app.Client.LastSetCookies), StringComparison.Ordinal);

        await app.Client.PostAsync("/set/theme/dark");
        Assert.StartsWith("__Host-statekit.prefs=", Assert.Single(app.Client.LastSetCookies), StringComparison.Ordinal);
        var critical = app.Client.Cookies["__Host-statekit.critical"];

        // A server-side tier keeps its ticket when written again; the client-held tier's ticket changes with every write.
        await app.Client.PostAsync("/set/cart/pen");
        Assert.Empty(app.Client.LastSetCookies);
        await app.Client.PostAsync("/set/theme/light");
        Assert.StartsWith("__Host-statekit.prefs=", Assert.Single(app.Client.LastSetCookies), StringComparison.Ordinal);

        Assert.Equal(critical, app.Client.Cookies["__Host-statekit.critical"]);
        Assert.False(app.Client.Cookies.ContainsKey("__Host-statekit"));
        Assert.Equal("pen", await app.Client.GetStringAsync("/get/cart"));
        Assert.Equal("light", await app.Client.GetStringAsync("/get/theme"));
        Assert.Equal(2, app.Client.Cookies.Keys.Count(k => k.StartsWith("__Host-statekit.", StringComparison.Ordinal)));
    }
}
