using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Security.Claims;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using StateKit.DependencyInjection;
using StateKit.Testing;

namespace StateKit.AspNetCore.Tests;

/// <summary>
/// Issue 19: cookie authentication over <see cref="StateKitTicketStore"/>, on the ASP.NET Core test server, run once per
/// server-held store. The store under test is real; it is only counted (writes) and, for the outage test, switched off.
/// </summary>
public abstract class StateKitTicketStoreContract
{
    public const string CookieName = ".AspNetCore.Cookies";

    protected static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(20);

    protected static readonly TimeSpan AbsoluteLifetime = TimeSpan.FromHours(2);

    /// <summary>The real store, built with <see cref="IdleTimeout"/>, <see cref="AbsoluteLifetime"/> and the test's clock.</summary>
    protected abstract ISessionStore CreateStore(TimeProvider time);

    [Fact]
    public async Task SignIn_AuthenticatedRequest_SignOut_AndTheOldCookieStaysAnonymous()
    {
        await using var app = await TicketApp.StartAsync(CreateStore);
        using var client = app.NewClient();

        await client.PostAsync("/signin/ana");
        var cookie = client.Cookies[CookieName];

        Assert.Equal("ana", await client.GetStringAsync("/me"));
        using (var signOut = await client.PostAsync("/signout"))
        {
            Assert.Equal(HttpStatusCode.OK, signOut.StatusCode);
        }

        Assert.False(client.Cookies.ContainsKey(CookieName));
        Assert.Equal("(anonymous)", await client.GetStringAsync("/me"));

        // A copy of the cookie taken before sign-out (stolen) names a session that no longer exists.
        using var thief = app.NewClient();
        thief.Cookies[CookieName] = cookie;
        Assert.Equal("(anonymous)", await thief.GetStringAsync("/me"));

        // The key inside the cookie is a bearer credential: no log line, activity or metric of the whole cycle carries it.
        Assert.NotEqual(0, app.Telemetry.LogLines);
        Assert.Empty(app.Telemetry.Containing(app.KeyOf(cookie)));
    }

    [Fact]
    public async Task Cookie_CarriesOnlyAKey_TheTicketLivesInTheStore()
    {
        await using var app = await TicketApp.StartAsync(CreateStore);
        using var client = app.NewClient();

        await client.PostAsync("/signin/ana?claims=50");

        // 50 claims in the cookie itself would take several 4 KB chunks; here one small cookie names the session.
        Assert.Single(client.LastSetCookies);
        Assert.True(client.Cookies[CookieName].Length < 600, $"a cookie of {client.Cookies[CookieName].Length} characters");
        Assert.Equal("ana claims=52", await client.GetStringAsync("/me?count=1"));
        Assert.Equal(1, app.Counter.Commits);
        Assert.NotNull(app.Counter.LastCommit?.Upserts[StateKitTicketStore.TicketKey]);
        Assert.Equal("ana", app.Counter.LastCommit!.BindUserId);
    }

    [Fact]
    public async Task RevokeUser_FromASecondSession_SignsOutEveryCookieOfThatUserOnly()
    {
        await using var app = await TicketApp.StartAsync(CreateStore);
        using var laptop = app.NewClient();
        using var phone = app.NewClient();
        using var other = app.NewClient();
        await laptop.PostAsync("/signin/ana");
        await phone.PostAsync("/signin/ana");
        await other.PostAsync("/signin/bob");

        // "Sign out everywhere", pressed on the phone.
        using (var revoke = await phone.PostAsync("/signout-everywhere"))
        {
            Assert.Equal("2", await revoke.Content.ReadAsStringAsync());
        }

        Assert.Equal("(anonymous)", await laptop.GetStringAsync("/me"));
        Assert.Equal("(anonymous)", await phone.GetStringAsync("/me"));
        Assert.Equal("bob", await other.GetStringAsync("/me"));
    }

    [Fact]
    public async Task IdleExpiry_ActivitySlidesItWithoutAWrite_AndAnIdleGapSignsOut()
    {
        await using var app = await TicketApp.StartAsync(CreateStore);
        using var client = app.NewClient();
        await client.PostAsync("/signin/ana");

        // Active for twice the idle window: every request slides it, in the load itself.
        for (var i = 0; i < 4; i++)
        {
            app.Time.Advance(IdleTimeout / 2);
            Assert.Equal("ana", await client.GetStringAsync("/me"));
        }

        Assert.Equal(1, app.Counter.Commits);
        Assert.Equal(4, app.Counter.Loads);

        app.Time.Advance(IdleTimeout + TimeSpan.FromSeconds(1));
        Assert.Equal("(anonymous)", await client.GetStringAsync("/me"));
    }

    [Fact]
    public async Task TicketExpiresUtc_IsTheStoresEarliestDeadline_AndTheHandlerNeverAsksForARenewal()
    {
        await using var app = await TicketApp.StartAsync(CreateStore);
        using var client = app.NewClient();
        await client.PostAsync("/signin/ana");
        var signedIn = app.Time.GetUtcNow();

        app.Time.Advance(TimeSpan.FromMinutes(5));
        var now = app.Time.GetUtcNow();
        Assert.Equal($"issued={now:O} expires={now + IdleTimeout:O}", await client.GetStringAsync("/me/ticket"));

        // Near the absolute deadline, the absolute deadline is what the ticket says.
        while (app.Time.GetUtcNow() < signedIn + AbsoluteLifetime - TimeSpan.FromMinutes(10))
        {
            app.Time.Advance(TimeSpan.FromMinutes(10));
            await client.GetStringAsync("/me");
        }

        now = app.Time.GetUtcNow();
        Assert.Equal($"issued={now:O} expires={signedIn + AbsoluteLifetime:O}", await client.GetStringAsync("/me/ticket"));

        // Issued "now" and expiring later: the cookie handler's sliding check never fires, so no cookie is re-sent.
        Assert.Empty(client.LastSetCookies);
        Assert.Equal(1, app.Counter.Commits);
    }

    [Fact]
    public async Task AbsoluteExpiry_EndsTheSignInHoweverActive()
    {
        await using var app = await TicketApp.StartAsync(CreateStore);
        using var client = app.NewClient();
        await client.PostAsync("/signin/ana");

        var elapsed = TimeSpan.Zero;
        while (elapsed + IdleTimeout / 2 < AbsoluteLifetime)
        {
            app.Time.Advance(IdleTimeout / 2);
            elapsed += IdleTimeout / 2;
            Assert.Equal("ana", await client.GetStringAsync("/me"));
        }

        app.Time.Advance(AbsoluteLifetime - elapsed + TimeSpan.FromSeconds(1));
        Assert.Equal("(anonymous)", await client.GetStringAsync("/me"));
    }

    [Fact]
    public async Task SignInExpiresUtc_ShorterThanTheStore_Wins()
    {
        await using var app = await TicketApp.StartAsync(CreateStore);
        using var client = app.NewClient();
        await client.PostAsync("/signin/ana?minutes=30");

        app.Time.Advance(TimeSpan.FromMinutes(15));
        Assert.Equal("ana", await client.GetStringAsync("/me"));
        app.Time.Advance(TimeSpan.FromMinutes(16));

        // The store would keep the session (active 16 minutes ago, within the idle window); the app's 30 minutes end it.
        Assert.Equal("(anonymous)", await client.GetStringAsync("/me"));
    }

    [Fact]
    public async Task Renewal_ThatChangesNothing_CostsNoWrite()
    {
        await using var app = await TicketApp.StartAsync(CreateStore);
        using var client = app.NewClient();
        await client.PostAsync("/signin/ana");
        Assert.Equal(1, app.Counter.Commits);

        // The app asks the cookie handler to renew on every request (ShouldRenew in ValidatePrincipal), much later each time.
        for (var i = 0; i < 3; i++)
        {
            app.Time.Advance(TimeSpan.FromMinutes(10));
            using var renewed = await client.SendAsync(HttpMethod.Get, "/me", r => r.Headers.Add("X-Renew", "same"));
            Assert.Equal("ana", await renewed.Content.ReadAsStringAsync());
            Assert.Single(client.LastSetCookies);
        }

        Assert.Equal(1, app.Counter.Commits);
        Assert.Equal(3, app.Counter.Loads);
    }

    [Fact]
    public async Task Renewal_ThatChangesAClaim_WritesOnce_AndTheNextRequestSeesIt()
    {
        await using var app = await TicketApp.StartAsync(CreateStore);
        using var client = app.NewClient();
        await client.PostAsync("/signin/ana");

        using (var renewed = await client.SendAsync(HttpMethod.Get, "/me", r => r.Headers.Add("X-Renew", "role")))
        {
            Assert.Equal(HttpStatusCode.OK, renewed.StatusCode);
        }

        Assert.Equal(2, app.Counter.Commits);
        Assert.Equal("ana role=admin", await client.GetStringAsync("/me?role=1"));
        Assert.Equal(2, app.Counter.Commits);
    }

    [Fact]
    public async Task StoreDown_WhileTheTicketIsRead_Is503_NotAnonymous_AndTheCookieIsKept()
    {
        await using var app = await TicketApp.StartAsync(CreateStore);
        using var client = app.NewClient();
        await client.PostAsync("/signin/ana");
        var cookie = client.Cookies[CookieName];

        app.Chaos.Fail();
        using (var response = await client.GetAsync("/me"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Contains(nameof(SessionStoreUnavailableException), await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Empty(client.LastSetCookies);
        Assert.Equal(cookie, client.Cookies[CookieName]);

        // The ticket store itself never answers "no ticket" for an outage: that would read as signed out.
        var tickets = app.Services.GetRequiredService<StateKitTicketStore>();
        await Assert.ThrowsAsync<SessionStoreUnavailableException>(() => tickets.RetrieveAsync(app.KeyOf(cookie)));

        app.Chaos.Heal();
        Assert.Equal("ana", await client.GetStringAsync("/me"));
    }

    [Fact]
    public async Task StoreDown_AtSignOut_Is503_AndTheSessionSurvivesToBeSignedOutLater()
    {
        await using var app = await TicketApp.StartAsync(CreateStore);
        using var client = app.NewClient();
        await client.PostAsync("/signin/ana");

        app.Chaos.Fail();
        using (var response = await client.PostAsync("/signout"))
        {
            // A sign-out that did not happen must not look done.
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        }

        Assert.True(client.Cookies.ContainsKey(CookieName));
        app.Chaos.Heal();
        Assert.Equal("ana", await client.GetStringAsync("/me"));
        await client.PostAsync("/signout");
        Assert.Equal("(anonymous)", await client.GetStringAsync("/me"));
    }

    [Fact]
    public async Task StoreDown_AtSignIn_Is503_UnderTheStateKitMiddleware_AndNoCookieIsIssued()
    {
        await using var app = await TicketApp.StartAsync(CreateStore, useStateKitMiddleware: true);
        using var client = app.NewClient();

        app.Chaos.Fail();
        using (var response = await client.PostAsync("/signin/ana"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Contains(nameof(SessionStoreUnavailableException), await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Empty(client.Cookies);
        app.Chaos.Heal();
        await client.PostAsync("/signin/ana");
        Assert.Equal("ana", await client.GetStringAsync("/me"));
    }

    [Fact]
    public async Task ForgedKey_InAValidlyProtectedCookie_IsAnonymous_AndGarbageToo()
    {
        await using var app = await TicketApp.StartAsync(CreateStore);
        using var victim = app.NewClient();
        await victim.PostAsync("/signin/ana");

        // The cookie is the framework's data-protected payload; a forger that could produce one still has to guess a key.
        foreach (var key in new[] { "AAAAAAAAAAAAAAAAAAAAAA", Guid.NewGuid().ToString("N"), new string('x', 5000), app.KeyOf(victim.Cookies[CookieName]) + "x" })
        {
            using var forger = app.NewClient();
            forger.Cookies[CookieName] = app.CookieFor(key);
            Assert.Equal("(anonymous)", await forger.GetStringAsync("/me"));
        }

        using var garbage = app.NewClient();
        garbage.Cookies[CookieName] = "not-a-protected-payload";
        Assert.Equal("(anonymous)", await garbage.GetStringAsync("/me"));
        Assert.Equal(1, app.Counter.Commits);
    }

    [Fact]
    public async Task SignInOverAnotherUsersCookie_EndsThatSession_InsteadOfHandingItOver()
    {
        await using var app = await TicketApp.StartAsync(CreateStore);
        using var attacker = app.NewClient();
        await attacker.PostAsync("/signin/mallory");

        // The attacker plants their own cookie in the victim's browser; the cookie handler renews the key it came with.
        using var victim = app.NewClient();
        victim.Cookies[CookieName] = attacker.Cookies[CookieName];
        await victim.PostAsync("/signin/ana");

        Assert.Equal("(anonymous)", await attacker.GetStringAsync("/me"));
        Assert.Equal("(anonymous)", await victim.GetStringAsync("/me"));

        // Logged, by the session's public id: the key itself is a credential and appears nowhere.
        var planted = app.KeyOf(attacker.Cookies[CookieName]);
        Assert.Single(app.Telemetry.Lines, l => l.Contains("TicketUserChanged", StringComparison.Ordinal));
        Assert.Empty(app.Telemetry.Containing(planted));

        // Signing in again (the planted key is dead now) mints a fresh key, known to nobody else.
        await victim.PostAsync("/signin/ana");
        Assert.Equal("ana", await victim.GetStringAsync("/me"));
        Assert.NotEqual(attacker.Cookies.GetValueOrDefault(CookieName), victim.Cookies[CookieName]);
    }

    [Fact]
    public async Task CurrentPublicId_IsThePublicIdOfTheRequestsOwnSignIn_NeverItsKey()
    {
        await using var app = await TicketApp.StartAsync(CreateStore);
        using var laptop = app.NewClient();
        using var phone = app.NewClient();
        using var anonymous = app.NewClient();
        await laptop.PostAsync("/signin/ana");
        await phone.PostAsync("/signin/ana");

        var laptopId = await laptop.GetStringAsync("/me/session");
        var phoneId = await phone.GetStringAsync("/me/session");

        // The id a listing shows for that session (UserSessionInfo.PublicId is StateSession.Id): an account page can mark it.
        var laptopKey = app.KeyOf(laptop.Cookies[CookieName]);
        var session = new StateSession(app.Counter, laptopKey);
        await session.LoadAsync();
        Assert.Equal(session.Id, laptopId);
        Assert.NotEqual(laptopId, phoneId);
        Assert.DoesNotContain(laptopKey, laptopId, StringComparison.Ordinal);
        Assert.Equal("(none)", await anonymous.GetStringAsync("/me/session"));

        await laptop.PostAsync("/signout");
        Assert.Equal("(none)", await laptop.GetStringAsync("/me/session"));
        Assert.Equal(phoneId, await phone.GetStringAsync("/me/session"));
    }

    /// <summary>An app with cookie authentication over the store under test, and its endpoints.</summary>
    private protected sealed class TicketApp : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private TicketApp(WebApplication app, FakeTimeProvider time, CountingSessionStore counter, ChaosSessionStore chaos, TelemetryCapture telemetry)
        {
            _app = app;
            Telemetry = telemetry;
            Time = time;
            Counter = counter;
            Chaos = chaos;
        }

        public FakeTimeProvider Time { get; }

        /// <summary>Counts the calls that reach the real store (what the outage let through).</summary>
        public CountingSessionStore Counter { get; }

        public ChaosSessionStore Chaos { get; }

        /// <summary>Every log line, activity and metric the app emitted (activities and metrics: process-wide).</summary>
        public TelemetryCapture Telemetry { get; }

        public IServiceProvider Services => _app.Services;

        public static async Task<TicketApp> StartAsync(Func<TimeProvider, ISessionStore> createStore, bool useStateKitMiddleware = false, Action<StateKitTicketStoreOptions>? tickets = null)
        {
            var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 30, 9, 0, 0, TimeSpan.Zero));
            var counter = new CountingSessionStore(createStore(time));
            var chaos = new ChaosSessionStore(counter, time);
            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
            builder.WebHost.UseTestServer();
            builder.Logging.ClearProviders();
            var telemetry = new TelemetryCapture();
            builder.Logging.AddProvider(telemetry);
            builder.Services.AddSingleton<TimeProvider>(time);
            builder.Services.AddStateKit(kit =>
            {
                kit.UseStore<Memory.InMemorySessionStoreOptions>("under-test", null, (_, _) => chaos);
                if (useStateKitMiddleware)
                {
                    kit.AddHttp();
                }
            });
            builder.Services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme)
                .AddCookie(o => o.Events.OnValidatePrincipal = Renew)
                .UseStateKitTickets(configure: tickets);
            builder.Services.AddAuthorization();

            var app = builder.Build();
            if (useStateKitMiddleware)
            {
                app.UseStateKit();
            }

            Map(app);
            try
            {
                await app.StartAsync();
            }
            catch
            {
                await app.DisposeAsync();
                telemetry.Dispose();
                throw;
            }

            return new TicketApp(app, time, counter, chaos, telemetry);
        }

        public CookieClient NewClient() => new(_app.GetTestClient());

        /// <summary>The key inside a cookie the app issued.</summary>
        public string KeyOf(string cookie)
        {
            var ticket = CookieOptions.TicketDataFormat.Unprotect(cookie) ?? throw new InvalidOperationException("not a cookie of this app");
            return ticket.Principal.Claims.Single(c => c.Type == "Microsoft.AspNetCore.Authentication.Cookies-SessionId").Value;
        }

        /// <summary>A cookie this app would accept as genuine, naming <paramref name="key"/>: what a forger with the app's keys could make.</summary>
        public string CookieFor(string key)
        {
            var identity = new ClaimsIdentity([new Claim("Microsoft.AspNetCore.Authentication.Cookies-SessionId", key)], CookieAuthenticationDefaults.AuthenticationScheme);
            return CookieOptions.TicketDataFormat.Protect(new AuthenticationTicket(new ClaimsPrincipal(identity), CookieAuthenticationDefaults.AuthenticationScheme));
        }

        public async ValueTask DisposeAsync()
        {
            await _app.DisposeAsync();
            Telemetry.Dispose();
        }

        private CookieAuthenticationOptions CookieOptions
            => _app.Services.GetRequiredService<IOptionsMonitor<CookieAuthenticationOptions>>().Get(CookieAuthenticationDefaults.AuthenticationScheme);

        private static Task Renew(CookieValidatePrincipalContext context)
        {
            switch (context.Request.Headers["X-Renew"].ToString())
            {
                case "same":
                    context.ShouldRenew = true;
                    break;
                case "role":
                    var identity = (ClaimsIdentity)context.Principal!.Identity!;
                    identity.AddClaim(new Claim(ClaimTypes.Role, "admin"));
                    context.ReplacePrincipal(new ClaimsPrincipal(identity));
                    context.ShouldRenew = true;
                    break;
            }

            return Task.CompletedTask;
        }

        private static void Map(WebApplication app)
        {
            app.MapPost("/signin/{name}", async (string name, int? claims, int? minutes, string? sub, HttpContext context) =>
            {
                List<Claim> list = [new(ClaimTypes.NameIdentifier, name), new(ClaimTypes.Name, name)];
                if (sub is not null)
                {
                    list.Add(new Claim("sub", sub));
                }

                list.AddRange(Enumerable.Range(0, claims ?? 0).Select(i => new Claim("perm", $"catalog:item-{i:D3}:read-write")));
                var properties = new AuthenticationProperties();
                if (minutes is { } m)
                {
                    properties.ExpiresUtc = context.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow().AddMinutes(m);
                }

                await context.SignInAsync(new ClaimsPrincipal(new ClaimsIdentity(list, CookieAuthenticationDefaults.AuthenticationScheme)), properties);
                return "signed in";
            });
            app.MapPost("/signout", async (HttpContext context) =>
            {
                await context.SignOutAsync();
                return "signed out";
            });
            app.MapPost("/signout-everywhere", async (HttpContext context, StateKitTicketStore tickets) =>
                (await tickets.RevokeUserAsync(context.User.FindFirstValue(ClaimTypes.NameIdentifier)!, context.RequestAborted)).ToString(System.Globalization.CultureInfo.InvariantCulture));
            app.MapGet("/me", (HttpContext context, int? count, int? role) =>
            {
                if (context.User.Identity?.IsAuthenticated != true)
                {
                    return "(anonymous)";
                }

                var name = context.User.Identity.Name!;
                return count is not null ? $"{name} claims={context.User.Claims.Count()}"
                    : role is not null ? $"{name} role={context.User.FindFirstValue(ClaimTypes.Role)}"
                    : name;
            });
            app.MapGet("/me/session", (HttpContext context, StateKitTicketStore tickets) => tickets.GetCurrentPublicId(context) ?? "(none)");
            app.MapGet("/me/ticket", async (HttpContext context) =>
            {
                var result = await context.AuthenticateAsync();
                return $"issued={result.Properties!.IssuedUtc:O} expires={result.Properties.ExpiresUtc:O}";
            });
        }
    }
}
