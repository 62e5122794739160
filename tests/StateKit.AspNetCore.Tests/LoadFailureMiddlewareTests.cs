using System;
using System.Net;
using System.Net.Http;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.DependencyInjection;
using StateKit.DependencyInjection;
using StateKit.Resilience;
using StateKit.Testing;

namespace StateKit.AspNetCore.Tests;

/// <summary>
/// Issue 14: a store that fails while the handler loads its session answers like a failed commit (503 problem details,
/// the same hook), not with the app's 500. The store is a real <see cref="Distributed.DistributedCacheSessionStore"/> over a
/// memory cache that can be switched to fail like a dead backend.
/// </summary>
public sealed class LoadFailureMiddlewareTests
{
    [Fact]
    public async Task StoreDown_LoadInTheHandlerBecomes503ProblemDetailsNotA500()
    {
        var cache = new SwitchableCache();
        await using var app = await StartAsync(cache);
        await app.Client.PostAsync("/set/cart/book");
        cache.Down = true;

        // Before issue 14 the load's SessionStoreUnavailableException escaped the middleware: the test server threw it (a 500).
        using var response = await app.Client.SendAsync(HttpMethod.Get, "/get/cart");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Contains("could not be loaded", body, StringComparison.Ordinal);
        Assert.Contains("SessionStoreUnavailableException", body, StringComparison.Ordinal);
        Assert.Empty(app.Client.LastSetCookies);
        cache.Down = false;
        Assert.Equal("book", await app.Client.GetStringAsync("/get/cart"));
    }

    [Fact]
    public async Task StoreDown_LoadFailure_GoesThroughTheCommitFailureHook()
    {
        var cache = new SwitchableCache();
        Exception? seen = null;
        await using var app = await StartAsync(cache, http =>
        {
            http.CommitFailureStatusCode = 599;
            http.OnCommitFailure = (context, error) =>
            {
                seen = error;
                return context.Response.WriteAsync("try later");
            };
        });
        await app.Client.PostAsync("/set/cart/book");
        cache.Down = true;

        using var response = await app.Client.SendAsync(HttpMethod.Get, "/get/cart");

        Assert.Equal(599, (int)response.StatusCode);
        Assert.Equal("try later", await response.Content.ReadAsStringAsync());
        Assert.IsType<SessionStoreUnavailableException>(seen);
    }

    [Fact]
    public async Task BreakerOpen_RejectedLoadBecomes503()
    {
        var cache = new SwitchableCache();
        await using var app = await TestApp.StartAsync(
            kit => kit.UseDistributedCache().WithCircuitBreaker(),
            Map,
            services: s => s.AddSingleton<IDistributedCache>(cache));
        await app.Client.PostAsync("/set/cart/book");
        Assert.IsType<ResilientSessionStore>(app.Store).CircuitBreaker.Isolate();

        using var response = await app.Client.SendAsync(HttpMethod.Get, "/get/cart");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains(nameof(SessionStoreRejectedException), await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task StoreDown_ISessionLoadAsyncBecomes503_ButASynchronousReadSeesIsAvailableFalse()
    {
        var cache = new SwitchableCache();
        await using var app = await StartAsync(cache);
        await app.Client.PostAsync("/legacy/name/ana");
        cache.Down = true;

        // await Session.LoadAsync() throws as ASP.NET Core's own session does; the middleware answers 503 for it.
        using var loaded = await app.Client.SendAsync(HttpMethod.Get, "/legacy/name");

        // A synchronous read keeps ASP.NET Core's contract: the session is unavailable and reads as empty, no exception.
        using var sync = await app.Client.SendAsync(HttpMethod.Get, "/legacy-sync/name");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, loaded.StatusCode);
        Assert.Equal(HttpStatusCode.OK, sync.StatusCode);
        Assert.Equal("available=False name=(none)", await sync.Content.ReadAsStringAsync());
        cache.Down = false;
        Assert.Equal("available=True name=ana", await app.Client.GetStringAsync("/legacy-sync/name"));
    }

    [Fact]
    public async Task OtherExceptionInTheHandler_StillPropagates()
    {
        var cache = new SwitchableCache();
        await using var app = await StartAsync(cache);

        // A TimeoutException of the app's own is not a StateKit store failure: it reaches the app's error handling untouched.
        await Assert.ThrowsAsync<TimeoutException>(async () => await app.Client.PostAsync("/app-timeout"));
    }

    [Fact]
    public async Task StoreFailureAfterTheResponseStarted_Propagates()
    {
        var cache = new SwitchableCache();
        await using var app = await StartAsync(cache);

        // Nothing can replace a response already on the wire: the exception goes on, as any other would.
        await Assert.ThrowsAsync<SessionStoreUnavailableException>(async () => await app.Client.PostAsync("/started-then-store-fails"));
    }

    private static Task<TestApp> StartAsync(SwitchableCache cache, Action<StateKitHttpOptions>? http = null)
        => TestApp.StartAsync(kit => kit.UseDistributedCache(), Map, http, services: s => s.AddSingleton<IDistributedCache>(cache));

    private static void Map(WebApplication app)
    {
        Endpoints.Map(app);
        app.MapGet("/legacy-sync/{key}", (string key, HttpContext context) =>
            $"available={context.Session.IsAvailable} {key}={context.Session.GetString(key) ?? "(none)"}");
        app.MapPost("/app-timeout", (StateSession session) =>
        {
            session.Set("k", "v", ContractJsonContext.Default.String);
            throw new TimeoutException("the app's own dependency timed out");
        });
        app.MapPost("/started-then-store-fails", async (HttpContext context) =>
        {
            await context.Response.StartAsync();
            throw new SessionStoreUnavailableException("the store failed after the response started", null);
        });
    }
}
