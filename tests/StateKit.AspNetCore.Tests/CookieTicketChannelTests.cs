using System;
using System.Threading.Tasks;
using StateKit.DependencyInjection;

namespace StateKit.AspNetCore.Tests;

/// <summary>
/// Issue 13 item 8: the ticket cookie is <c>__Host-</c> prefixed wherever a browser accepts the prefix (Secure, no Domain,
/// Path /), so a sibling subdomain cannot plant or shadow it; over plain http in Development it keeps a name that works.
/// </summary>
public sealed class CookieTicketChannelTests
{
    [Fact]
    public async Task SecureHostOnlyRootCookie_GetsTheHostPrefix_SoASiblingSubdomainCannotPlantIt()
    {
        await using var app = await TestApp.StartAsync(kit => kit.UseInMemory().AddStore("prefs", s => s.UseInMemory()), Endpoints.Map);

        await app.Client.PostAsync("/set/cart/book");
        var cookie = Assert.Single(app.Client.LastSetCookies);
        await app.Client.PostAsync("/named/prefs/theme/dark");
        var named = Assert.Single(app.Client.LastSetCookies);

        Assert.StartsWith("__Host-statekit=", cookie, StringComparison.Ordinal);
        Assert.StartsWith("__Host-statekit.prefs=", named, StringComparison.Ordinal);
        foreach (var c in new[] { cookie, named })
        {
            // What browsers require of a __Host- cookie, or they drop it.
            Assert.Contains("secure", c, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("path=/;", c + ";", StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("domain=", c, StringComparison.OrdinalIgnoreCase);
        }

        // A cookie without the prefix (what a sibling subdomain can set for the parent domain) is not read.
        var planted = app.Client.Cookies["__Host-statekit"];
        app.Client.Cookies.Clear();
        app.Client.Cookies["statekit"] = planted;
        Assert.Equal("(none)", await app.Client.GetStringAsync("/get/cart"));
        app.Client.Cookies.Clear();
        app.Client.Cookies["__Host-statekit"] = planted;
        Assert.Equal("book", await app.Client.GetStringAsync("/get/cart"));
    }

    [Fact]
    public async Task DevelopmentOverHttp_KeepsTheUnprefixedName_WhichBrowsersAcceptWithoutSecure()
    {
        await using var app = await TestApp.StartAsync(kit => kit.UseInMemory(), Endpoints.Map, environment: "Development");

        await app.Client.PostAsync("/set/cart/book");

        var cookie = Assert.Single(app.Client.LastSetCookies);
        Assert.StartsWith("statekit=", cookie, StringComparison.Ordinal);
        Assert.DoesNotContain("secure", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Equal("book", await app.Client.GetStringAsync("/get/cart"));
    }

    [Theory]
    [InlineData("example.com", "/")]
    [InlineData(null, "/app")]
    public async Task DomainOrPathSet_NoPrefix_SinceBrowsersRejectHostCookiesWithEither(string? domain, string path)
    {
        await using var app = await TestApp.StartAsync(kit => kit.UseInMemory(), Endpoints.Map, http =>
        {
            http.CookieDomain = domain;
            http.CookiePath = path;
        });

        await app.Client.PostAsync("/set/cart/book");

        Assert.StartsWith("statekit=", Assert.Single(app.Client.LastSetCookies), StringComparison.Ordinal);
    }

    [Fact]
    public async Task CookieHostPrefixOff_KeepsTheConfiguredName()
    {
        await using var app = await TestApp.StartAsync(kit => kit.UseInMemory(), Endpoints.Map, http => http.CookieHostPrefix = false);

        await app.Client.PostAsync("/set/cart/book");

        Assert.StartsWith("statekit=", Assert.Single(app.Client.LastSetCookies), StringComparison.Ordinal);
    }
}
