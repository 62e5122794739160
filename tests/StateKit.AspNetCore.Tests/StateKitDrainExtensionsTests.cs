using System;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Security.Claims;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StateKit.DependencyInjection;
using StateKit.Sticky;
using StateKit.Testing;

namespace StateKit.AspNetCore.Tests;

public sealed class StateKitDrainExtensionsTests
{
    [Fact]
    public async Task MapStateKitDrain_WithAnAuthorizationPolicy_RefusesAnonymousCallersAndDrainsForOperators()
    {
        await using var app = await TestApp.StartAsync(
            kit => kit
                .UseSticky(o => { o.NodeId = "a"; o.Keys.Add(new StickyKey { Id = "k1", Secret = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray() }); o.BackupStoreName = "backup"; })
                .AddStore("backup", b => b.UseDistributedCache()),
            web =>
            {
                web.UseStateKitDrainSignal();
                web.MapPost("/add", (StateSession session) => session.Set("n", "1", ContractJsonContext.Default.String));
                web.MapStateKitDrain().RequireAuthorization("ops");
            },
            services: s =>
            {
                s.AddDistributedMemoryCache();
                s.AddAuthentication("ops").AddScheme<AuthenticationSchemeOptions, OpsHandler>("ops", null);
                s.AddAuthorization(o => o.AddPolicy("ops", p => p.RequireAuthenticatedUser()));
            });
        var store = app.Services.GetRequiredKeyedService<StickySessionStore>(SessionStores.DefaultName);
        (await app.Client.SendAsync(HttpMethod.Post, "/add")).Dispose();

        using var anonymous = await app.Client.SendAsync(HttpMethod.Post, "/statekit/drain");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(StickyDrainState.Serving, store.DrainState);

        using var drained = await app.Client.SendAsync(HttpMethod.Post, "/statekit/drain", r => r.Headers.Add("X-Ops", "yes"));
        Assert.Equal(HttpStatusCode.OK, drained.StatusCode);
        using var body = JsonDocument.Parse(await drained.Content.ReadAsStringAsync());
        Assert.Equal("Drained", body.RootElement.GetProperty("state").GetString());
        Assert.Equal(1, body.RootElement.GetProperty("moved").GetInt32());
        Assert.Equal(StickyDrainState.Drained, store.DrainState);

        // From now on every answer tells the proxy.
        using var next = await app.Client.SendAsync(HttpMethod.Post, "/add");
        Assert.Equal("a", Assert.Single(next.Headers.GetValues(StickySessionStore.DrainingHeaderName)));
    }

    /// <summary>An operator is whoever sends X-Ops: enough to tell an authorized caller from an anonymous one.</summary>
    private sealed class OpsHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
            => Task.FromResult(Request.Headers.ContainsKey("X-Ops")
                ? AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, "ops")], "ops")), "ops"))
                : AuthenticateResult.NoResult());
    }
}
