using System;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StateKit.DependencyInjection;
using StateKit.Testing;

namespace StateKit.AspNetCore.Tests;

public sealed class StateKitMiddlewareTests
{
    [Fact]
    public async Task FirstWrite_SetsAnHttpOnlySecureLaxCookieBoundedByTheAbsoluteLifetime()
    {
        await using var app = await TestApp.StartAsync(kit => kit.UseInMemory(), Endpoints.Map);

        using var response = await app.Client.PostAsync("/set/cart/book");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var cookie = Assert.Single(app.Client.LastSetCookies);
        Assert.StartsWith("__Host-statekit=", cookie, StringComparison.Ordinal);
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("secure", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=lax", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("path=/", cookie, StringComparison.OrdinalIgnoreCase);
        var expires = DateTimeOffset.Parse(cookie.Split(';').Single(p => p.Trim().StartsWith("expires=", StringComparison.OrdinalIgnoreCase)).Split('=')[1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(expires - DateTimeOffset.UtcNow, TimeSpan.FromHours(11), TimeSpan.FromHours(12.1));
        Assert.Equal("book", await app.Client.GetStringAsync("/get/cart"));
    }

    [Fact]
    public async Task Development_CookieFollowsTheRequestScheme()
    {
        await using var app = await TestApp.StartAsync(kit => kit.UseInMemory(), Endpoints.Map, environment: "Development");

        using var response = await app.Client.PostAsync("/set/cart/book");

        Assert.DoesNotContain("secure", Assert.Single(app.Client.LastSetCookies), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task UntouchedAndReadOnlyAndSameTicketWrites_SendNoCookie()
    {
        await using var app = await TestApp.StartAsync(kit => kit.UseInMemory(), Endpoints.Map);
        await app.Client.PostAsync("/set/cart/book");

        await app.Client.GetAsync("/none");
        Assert.Empty(app.Client.LastSetCookies);
        await app.Client.GetAsync("/get/cart");
        Assert.Empty(app.Client.LastSetCookies);
        await app.Client.PostAsync("/set/cart/pen");
        Assert.Empty(app.Client.LastSetCookies);
        Assert.Equal("pen", await app.Client.GetStringAsync("/get/cart"));
    }

    [Fact]
    public async Task UntouchedRequest_CostsNoStoreCall()
    {
        CountingSessionStore? counter = null;
        await using var app = await TestApp.StartAsync(kit => kit.UseStore<Memory.InMemorySessionStoreOptions>("counting", null, (_, o) => counter = new CountingSessionStore(new Memory.InMemorySessionStore(o))), Endpoints.Map);
        await app.Client.PostAsync("/set/cart/book");
        var before = counter!.Loads + counter.Commits;

        await app.Client.GetAsync("/none");
        await app.Client.GetAsync("/none");

        Assert.Equal(before, counter.Loads + counter.Commits);
    }

    [Fact]
    public async Task RotateId_ReplacesTheCookieAndKillsTheOldTicket()
    {
        await using var app = await TestApp.StartAsync(kit => kit.UseInMemory(), Endpoints.Map);
        await app.Client.PostAsync("/set/cart/book");
        var before = app.Client.Cookies["__Host-statekit"];

        await app.Client.PostAsync("/rotate");

        var after = app.Client.Cookies["__Host-statekit"];
        Assert.NotEqual(before, after);
        Assert.Null(await app.Store.LoadAsync(before));
        Assert.Equal("book", await app.Client.GetStringAsync("/get/cart"));
    }

    [Fact]
    public async Task Revoke_DeletesTheCookie()
    {
        await using var app = await TestApp.StartAsync(kit => kit.UseInMemory(), Endpoints.Map);
        await app.Client.PostAsync("/set/cart/book");
        var ticket = app.Client.Cookies["__Host-statekit"];

        await app.Client.PostAsync("/revoke");

        Assert.Contains("expires=Thu, 01 Jan 1970", Assert.Single(app.Client.LastSetCookies), StringComparison.OrdinalIgnoreCase);
        Assert.False(app.Client.Cookies.ContainsKey("__Host-statekit"));
        Assert.Null(await app.Store.LoadAsync(ticket));
    }

    [Fact]
    public async Task HeaderTransport_RoundTripsTheTicket()
    {
        await using var app = await TestApp.StartAsync(kit => kit.UseInMemory(), Endpoints.Map, http => http.Transport = TicketTransport.Header);

        using var first = await app.Client.PostAsync("/set/cart/book");
        var ticket = Assert.Single(first.Headers.GetValues("StateKit-Ticket"));
        Assert.Empty(app.Client.LastSetCookies);

        using var second = await app.Client.SendAsync(HttpMethod.Get, "/get/cart", r => r.Headers.Add("StateKit-Ticket", ticket));
        Assert.Equal("book", await second.Content.ReadAsStringAsync());
        Assert.False(second.Headers.Contains("StateKit-Ticket"));

        using var revoke = await app.Client.SendAsync(HttpMethod.Post, "/revoke", r => r.Headers.Add("StateKit-Ticket", ticket));
        Assert.Equal(string.Empty, Assert.Single(revoke.Headers.GetValues("StateKit-Ticket")));
    }

    [Fact]
    public async Task StoreDown_CommitFailureBecomes503ProblemDetailsNotA200()
    {
        var cache = new SwitchableCache();
        await using var app = await TestApp.StartAsync(
            kit => kit.UseDistributedCache(),
            Endpoints.Map,
            services: s => s.AddSingleton<IDistributedCache>(cache));
        await app.Client.PostAsync("/set/cart/book");
        cache.Down = true;

        using var response = await app.Client.PostAsync("/set/cart/pen");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Contains("could not be saved", body, StringComparison.Ordinal);
        Assert.DoesNotContain("ok", body, StringComparison.Ordinal);
        cache.Down = false;
        Assert.Equal("book", await app.Client.GetStringAsync("/get/cart"));
    }

    [Fact]
    public async Task PayloadTooLarge_FailsTheRequestWithTheConfiguredStatusAndHandler()
    {
        await using var app = await TestApp.StartAsync(
            kit => kit.UseInMemory(o => o.MaxPayloadBytes = 10),
            Endpoints.Map,
            http =>
            {
                http.CommitFailureStatusCode = 507;
                http.OnCommitFailure = (context, error) => context.Response.WriteAsync("failed: " + error.GetType().Name);
            });

        using var response = await app.Client.PostAsync("/set/cart/a-value-much-longer-than-ten-bytes");

        Assert.Equal(507, (int)response.StatusCode);
        Assert.Equal("failed: SessionPayloadTooLargeException", await response.Content.ReadAsStringAsync());
        Assert.Empty(app.Client.LastSetCookies);
    }

    [Fact]
    public async Task BindPastARefusingSessionLimit_AtTheMiddlewaresCommit_IsLoggedAsAWarning_AndTheSessionStaysAnonymous()
    {
        using var capture = new TelemetryCapture();
        await using var app = await TestApp.StartAsync(
            kit => kit.UseInMemory(o =>
            {
                o.MaxSessionsPerUser = 1;
                o.SessionLimitPolicy = UserSessionLimitPolicy.RefuseNewSession;
            }),
            web => web.MapPost("/signin/{user}", (string user, StateSession session) =>
            {
                session.Set("cart", "book");
                session.BindUser(user);
            }),
            services: s => s.AddSingleton<ILoggerProvider>(capture));
        using var first = app.NewClient();
        using var second = app.NewClient();

        using var accepted = await first.PostAsync("/signin/ana");
        using var refused = await second.PostAsync("/signin/ana");

        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        Assert.Single(first.LastSetCookies);
        Assert.Equal(HttpStatusCode.OK, refused.StatusCode);
        Assert.Empty(second.LastSetCookies);
        var warning = Assert.Single(capture.Lines, l => l.Contains("BindRefusedBySessionLimit", StringComparison.Ordinal));
        Assert.Contains("SessionCommitOutcome.SessionLimitReached", warning, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TicketOverMaxLength_FailsBeforeAnythingIsSent()
    {
        // Server-side tickets are 22 characters; a limit below that makes the very first ticket too long.
        await using var app = await TestApp.StartAsync(kit => kit.UseInMemory(), Endpoints.Map, http => http.MaxTicketLength = 10);

        using var response = await app.Client.PostAsync("/set/cart/book");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Empty(app.Client.LastSetCookies);
    }

    [Fact]
    public async Task HandlerThrows_NothingIsCommitted()
    {
        await using var app = await TestApp.StartAsync(kit => kit.UseInMemory(), Endpoints.Map);
        await app.Client.PostAsync("/set/cart/book");

        await Assert.ThrowsAsync<InvalidOperationException>(async () => await app.Client.PostAsync("/throw"));

        Assert.Equal("(none)", await app.Client.GetStringAsync("/get/poison"));
    }

    [Fact]
    public async Task DisabledEndpoint_GetsNoSessionAndSendsNoCookie()
    {
        await using var app = await TestApp.StartAsync(kit => kit.UseInMemory(), Endpoints.Map);

        Assert.Equal("no session", await app.Client.GetStringAsync("/health"));
        Assert.Empty(app.Client.LastSetCookies);
    }

    [Fact]
    public async Task NamedStores_TravelInTheirOwnCookies()
    {
        await using var app = await TestApp.StartAsync(kit => kit.UseInMemory().AddStore("prefs", s => s.UseInMemory()), Endpoints.Map);

        await app.Client.PostAsync("/set/cart/book");
        await app.Client.PostAsync("/named/prefs/theme/dark");

        Assert.True(app.Client.Cookies.ContainsKey("__Host-statekit"));
        Assert.True(app.Client.Cookies.ContainsKey("__Host-statekit.prefs"));
        Assert.NotEqual(app.Client.Cookies["__Host-statekit"], app.Client.Cookies["__Host-statekit.prefs"]);
        Assert.Equal("dark", await app.Client.GetStringAsync("/named/prefs/theme"));
        Assert.Equal("(none)", await app.Client.GetStringAsync("/get/theme"));
    }

    [Fact]
    public async Task ISessionAdapter_RunsHttpContextSessionCodeOnAStore()
    {
        await using var app = await TestApp.StartAsync(kit => kit.UseInMemory(), Endpoints.Map);

        await app.Client.PostAsync("/legacy/name/ana");
        await app.Client.SendAsync(HttpMethod.Post, "/legacy-incr");
        await app.Client.SendAsync(HttpMethod.Post, "/legacy-incr");

        Assert.Equal("ana", await app.Client.GetStringAsync("/legacy/name"));
        using var third = await app.Client.SendAsync(HttpMethod.Post, "/legacy-incr");
        Assert.Equal("3", await third.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task ISessionAdapter_TwoConcurrentRequestsChangingDifferentKeys_BothSurvive()
    {
        await using var app = await TestApp.StartAsync(kit => kit.UseInMemory(), Endpoints.Map);
        await app.Client.PostAsync("/legacy/seed/1");
        var cookie = "__Host-statekit=" + app.Client.Cookies["__Host-statekit"];

        await Task.WhenAll(
            app.Client.Http.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/legacy/a/1") { Headers = { { "Cookie", cookie } } }),
            app.Client.Http.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/legacy/b/2") { Headers = { { "Cookie", cookie } } }));

        Assert.Equal("1", await app.Client.GetStringAsync("/legacy/a"));
        Assert.Equal("2", await app.Client.GetStringAsync("/legacy/b"));
    }

    [Fact]
    public async Task InvalidHttpOptions_FailAtStartWithEveryProblem()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(async () => await TestApp.StartAsync(
            kit => kit.UseInMemory(),
            Endpoints.Map,
            http =>
            {
                http.CookieName = "";
                http.MaxTicketLength = 0;
            }));

        Assert.Contains("CookieName", error.Message, StringComparison.Ordinal);
        Assert.Contains("MaxTicketLength", error.Message, StringComparison.Ordinal);
    }
}
