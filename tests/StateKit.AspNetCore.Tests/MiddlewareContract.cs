using System;
using System.Linq;
using System.Net;
using System.Threading.Tasks;
using StateKit.DependencyInjection;
using Microsoft.Extensions.DependencyInjection;

namespace StateKit.AspNetCore.Tests;

/// <summary>The HTTP life of a session, run against every store: one derived class per store.</summary>
public abstract class MiddlewareContract
{
    /// <summary>Registers the store under test, with an optional payload limit.</summary>
    protected abstract void Configure(StateKitBuilder kit, int? maxPayloadBytes = null);

    /// <summary>Gets the cookie that carries the ticket of the keys the contract writes ("cart").</summary>
    protected virtual string TicketCookie => "__Host-statekit";

    [Fact]
    public async Task Cookie_SetOnFirstWrite_UntouchedOnUntouchedRequests()
    {
        await using var app = await TestApp.StartAsync(kit => Configure(kit), Endpoints.Map);

        await app.Client.PostAsync("/set/cart/book");
        Assert.Single(app.Client.LastSetCookies);
        var ticket = app.Client.Cookies[TicketCookie];

        await app.Client.GetAsync("/none");
        Assert.Empty(app.Client.LastSetCookies);
        Assert.Equal("book", await app.Client.GetStringAsync("/get/cart"));
        Assert.Empty(app.Client.LastSetCookies);
        Assert.Equal(ticket, app.Client.Cookies[TicketCookie]);
    }

    [Fact]
    public async Task Cookie_ExpiresAtTheSessionsAbsoluteDeadline()
    {
        await using var app = await TestApp.StartAsync(kit => Configure(kit), Endpoints.Map);

        await app.Client.PostAsync("/set/cart/book");

        // Every store's default absolute lifetime is 12 hours; a cookie without an expiry would die with the browser.
        var cookie = app.Client.LastSetCookies.Single(c => c.StartsWith(TicketCookie + "=", StringComparison.Ordinal));
        var expires = cookie.Split(';').Select(p => p.Trim()).SingleOrDefault(p => p.StartsWith("expires=", StringComparison.OrdinalIgnoreCase));
        Assert.True(expires is not null, $"no expiry on {cookie}");
        var at = DateTimeOffset.Parse(expires!["expires=".Length..], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(at - DateTimeOffset.UtcNow, TimeSpan.FromHours(11), TimeSpan.FromHours(12.1));
    }

    [Fact]
    public async Task Cookie_ReplacedAfterRotateId()
    {
        await using var app = await TestApp.StartAsync(kit => Configure(kit), Endpoints.Map);
        await app.Client.PostAsync("/set/cart/book");
        var before = app.Client.Cookies[TicketCookie];

        await app.Client.PostAsync("/rotate");

        Assert.Single(app.Client.LastSetCookies);
        Assert.NotEqual(before, app.Client.Cookies[TicketCookie]);
        Assert.Equal("book", await app.Client.GetStringAsync("/get/cart"));
        if (!app.Store.Capabilities.Revocation.HasFlag(RevocationSupport.ById))
        {
            return; // a client-held ticket without a deny list outlives rotation; its capabilities say so
        }

        Assert.Null(await app.Store.LoadAsync(before));
    }

    [Fact]
    public async Task Cookie_DeletedAfterRevoke()
    {
        await using var app = await TestApp.StartAsync(kit => Configure(kit), Endpoints.Map);
        await app.Client.PostAsync("/set/cart/book");

        await app.Client.PostAsync("/revoke");

        Assert.Contains("expires=Thu, 01 Jan 1970", Assert.Single(app.Client.LastSetCookies), StringComparison.OrdinalIgnoreCase);
        Assert.Empty(app.Client.Cookies);
        Assert.Equal("(none)", await app.Client.GetStringAsync("/get/cart"));
    }

    [Fact]
    public async Task PayloadOverTheStoreLimit_IsAnErrorResponseNotA200()
    {
        await using var app = await TestApp.StartAsync(kit => Configure(kit, maxPayloadBytes: 64), Endpoints.Map);

        using var response = await app.Client.PostAsync("/set/cart/" + new string('x', 200));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Empty(app.Client.LastSetCookies);
    }
}

public sealed class MemoryMiddlewareTests : MiddlewareContract
{
    protected override void Configure(StateKitBuilder kit, int? maxPayloadBytes = null) => TestStores.Configure("memory", kit, maxPayloadBytes);
}

public sealed class DistributedCacheMiddlewareTests : MiddlewareContract
{
    protected override void Configure(StateKitBuilder kit, int? maxPayloadBytes = null) => TestStores.Configure("distributed-cache", kit, maxPayloadBytes);
}

public sealed class JwtMiddlewareTests : MiddlewareContract
{
    protected override void Configure(StateKitBuilder kit, int? maxPayloadBytes = null) => TestStores.Configure("jwt", kit, maxPayloadBytes);
}

public sealed class ClientSideMiddlewareTests : MiddlewareContract
{
    protected override void Configure(StateKitBuilder kit, int? maxPayloadBytes = null) => TestStores.Configure("clientside", kit, maxPayloadBytes);

    [Fact]
    public async Task LargeClientHeldTicket_IsChunkedAcrossCookiesAndReassembled()
    {
        await using var app = await TestApp.StartAsync(kit => TestStores.Configure("clientside", kit, maxPayloadBytes: 32 * 1024), Endpoints.Map);
        var big = new string('a', 9_000);

        await app.Client.PostAsync("/set/blob/" + big);

        // ASP.NET Core's chunk format: "__Host-statekit=chunks-N" plus "__Host-statekitC1".."__Host-statekitCN", each under 4 KB; every chunk keeps the prefix.
        Assert.StartsWith("chunks-", app.Client.Cookies["__Host-statekit"], StringComparison.Ordinal);
        var chunks = app.Client.Cookies.Keys.Where(k => k.StartsWith("__Host-statekitC", StringComparison.Ordinal)).ToList();
        Assert.True(chunks.Count >= 3, $"expected at least 3 chunks, got {chunks.Count}");
        Assert.All(app.Client.LastSetCookies, c => Assert.True(c.Length < 4_200, $"a cookie of {c.Length} characters"));
        Assert.Equal(big, await app.Client.GetStringAsync("/get/blob"));
    }
}

public sealed class ClientHeldRefreshTests
{
    [Theory]
    [InlineData("clientside")]
    [InlineData("jwt")]
    public async Task ReadOnlyRequests_ReissueTheTicketOncePerQuarterIdleWindow_SoReadersStaySignedIn(string store)
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = await TestApp.StartAsync(
            kit => TestStores.Configure(store, kit),
            Endpoints.Map,
            services: s => s.AddSingleton<TimeProvider>(time));
        await app.Client.PostAsync("/set/cart/book");

        // Within a quarter of the 20-minute idle window: read, no new cookie.
        time.Advance(TimeSpan.FromMinutes(4));
        Assert.Equal("book", await app.Client.GetStringAsync("/get/cart"));
        Assert.Empty(app.Client.LastSetCookies);

        // Past it: the read re-issues the ticket, so the user is not signed out while only reading.
        for (var i = 0; i < 4; i++)
        {
            time.Advance(TimeSpan.FromMinutes(15));
            Assert.Equal("book", await app.Client.GetStringAsync("/get/cart"));
            Assert.Single(app.Client.LastSetCookies);
        }

        time.Advance(TimeSpan.FromMinutes(21));
        Assert.Equal("(none)", await app.Client.GetStringAsync("/get/cart"));
    }
}
