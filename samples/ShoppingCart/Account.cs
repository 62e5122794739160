using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Security.Claims;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using StateKit;
using StateKit.AspNetCore;
using StateKit.DependencyInjection;

namespace ShoppingCart;

/// <summary>
/// A minimal sign-in (a name, no password) on ASP.NET Core's cookie authentication, whose tickets live in a StateKit store:
/// the cookie carries a key, "sign out everywhere" ends every sign-in of the user. The page is /account: "where you're
/// signed in" lists the user's sessions (when the store can list them) and signs out any other one.
/// </summary>
internal static class Account
{
    /// <summary>The most sign-ins one user keeps in the stores the sample limits (memory, redis, and the auth store).</summary>
    public const int MaxSessionsPerUser = 5;

    /// <summary>The StateKit store tickets live in when the strategy's own store keeps state in the browser.</summary>
    private const string AuthStore = "auth";

    /// <summary>How many sessions one screen of the account page shows.</summary>
    private const int SessionsPerScreen = 20;

    /// <summary>
    /// The limit the sample's server-held stores apply: <see cref="MaxSessionsPerUser"/>, and by default a sixth sign-in
    /// signs out the least recently active one. <c>--ShoppingCart:SessionLimitPolicy RefuseNewSession</c> refuses it instead.
    /// </summary>
    public static (int Max, UserSessionLimitPolicy Policy) SessionLimit(IConfiguration configuration)
    {
        var configured = configuration["ShoppingCart:SessionLimitPolicy"];
        return (MaxSessionsPerUser, string.IsNullOrWhiteSpace(configured)
            ? UserSessionLimitPolicy.SignOutLeastRecentlyActive
            : Enum.Parse<UserSessionLimitPolicy>(configured, ignoreCase: true));
    }

    public static void Add(WebApplicationBuilder builder, Strategy strategy)
    {
        // A ticket must stay on the server to be revocable: with a client-held strategy the sign-ins get an in-memory store of their own.
        var storeName = strategy.Name is "clientside" or "jwt" or "tiered" ? AuthStore : SessionStores.DefaultName;
        if (storeName == AuthStore)
        {
            builder.Services.AddStateKit(kit => kit.AddStore(AuthStore, s => s.UseInMemory(o => (o.MaxSessionsPerUser, o.SessionLimitPolicy) = SessionLimit(builder.Configuration))));
        }

        builder.Services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme)
            .AddCookie(o => o.LoginPath = "/account")
            .UseStateKitTickets(storeName);
    }

    public static void Map(WebApplication app)
    {
        app.MapGet("/account", async (HttpContext context, StateKitTicketStore tickets, SessionStores stores) =>
        {
            var sessions = UserIdOf(context) is { } userId ? await ListAsync(context, tickets, stores, userId, context.RequestAborted) : null;
            return Html(Page(context.User, notice: null, sessions));
        });

        app.MapGet("/api/me", (HttpContext context) => context.User.Identity?.IsAuthenticated == true ? context.User.Identity.Name! : "(anonymous)");

        app.MapPost("/account/signin", async (HttpContext context) =>
        {
            var form = await context.Request.ReadFormAsync(context.RequestAborted);
            var name = form["name"].ToString().Trim();
            if (name.Length is 0 or > 40)
            {
                return Results.BadRequest("A name of 1 to 40 characters, please.");
            }

            // The user's id is the name, case-insensitively: "sign out everywhere" ends every sign-in under it.
            var identity = new ClaimsIdentity(
                [new Claim(ClaimTypes.NameIdentifier, name.ToLowerInvariant()), new Claim(ClaimTypes.Name, name)],
                CookieAuthenticationDefaults.AuthenticationScheme);
            try
            {
                await context.SignInAsync(new ClaimsPrincipal(identity));
            }
            catch (SessionLimitReachedException)
            {
                // Only under RefuseNewSession: nothing was written and this browser stays signed out.
                return Html(
                    Page(context.User, $"Too many sessions: {name} is signed in on {MaxSessionsPerUser} devices already. Sign out one of them elsewhere (its account page lists them), then sign in here again.", sessions: null),
                    StatusCodes.Status409Conflict);
            }

            return Results.Redirect("/account");
        });

        app.MapPost("/account/signout", async (HttpContext context) =>
        {
            await context.SignOutAsync();
            return Results.Redirect("/account");
        });

        // "Sign out that device": the form names a session by the public id this user's listing showed. The user comes from
        // the cookie, never from the form, so a public id of another user's session ends nothing. The auth cookie is
        // SameSite=Lax, so a cross-site form cannot post here signed in (the sample uses no antiforgery tokens anywhere).
        app.MapPost("/account/sessions/signout", async (HttpContext context, StateKitTicketStore tickets, SessionStores stores) =>
        {
            var form = await context.Request.ReadFormAsync(context.RequestAborted);
            var publicId = form["session"].ToString();
            if (publicId.Length is 0 or > 64)
            {
                return Results.BadRequest("Name a session from your account page.");
            }

            if (UserIdOf(context) is { } userId && ListerOf(stores, tickets) is { } lister)
            {
                if (publicId == tickets.GetCurrentPublicId(context))
                {
                    await context.SignOutAsync();
                }
                else
                {
                    await lister.RevokeUserSessionAsync(userId, publicId, context.RequestAborted);
                }
            }

            return Results.Redirect("/account");
        });

        app.MapPost("/account/signout-everywhere", async (HttpContext context, StateKitTicketStore tickets) =>
        {
            if (UserIdOf(context) is { } userId)
            {
                await tickets.RevokeUserAsync(userId, context.RequestAborted);
            }

            return Results.Redirect("/account");
        });
    }

    private static string? UserIdOf(HttpContext context) => context.User.FindFirstValue(ClaimTypes.NameIdentifier);

    /// <summary>The store the tickets live in, when it can list a user's sessions; else null. Asked by capability, not by strategy.</summary>
    private static ISessionLister? ListerOf(SessionStores stores, StateKitTicketStore tickets)
        => stores.GetStore(tickets.StoreName) is { Capabilities.ListsUserSessions: true } and ISessionLister lister ? lister : null;

    private static async Task<SessionsView> ListAsync(
        HttpContext context, StateKitTicketStore tickets, SessionStores stores, string userId, CancellationToken cancellationToken)
    {
        if (ListerOf(stores, tickets) is not { } lister)
        {
            return new SessionsView([], null, More: false, ListingUnavailable: "The store these sign-ins live in cannot list a user's sessions (its Capabilities.ListsUserSessions is false), so this page cannot show where else you are signed in.");
        }

        var sessions = new List<UserSessionInfo>();
        string? token = null;
        try
        {
            // One screen: a page can be short, even empty, while more follow (the store prunes dead entries as it goes), so
            // a few calls fill it, and no more than a few, whatever the user's index holds. With the sample's limit of 5 the
            // first call holds them all; a store without a limit could hold more than a screen, and the page says so.
            for (var calls = 0; calls < 5 && sessions.Count < SessionsPerScreen; calls++)
            {
                var page = await lister.ListUserSessionsAsync(userId, token, SessionsPerScreen - sessions.Count, cancellationToken);
                sessions.AddRange(page.Sessions);
                token = page.ContinuationToken;
                if (token is null)
                {
                    break;
                }
            }
        }
        catch (SessionStoreUnavailableException)
        {
            return new SessionsView([], null, More: false, ListingUnavailable: "Your sessions cannot be listed right now: the session store is unavailable. Try again in a moment.");
        }

        var current = tickets.GetCurrentPublicId(context);
        var ordered = sessions.DistinctBy(s => s.PublicId).OrderByDescending(s => s.PublicId == current).ThenByDescending(s => s.LastActiveAt).ToList();
        return new SessionsView(ordered, current, More: token is not null, ListingUnavailable: null);
    }

    private static IResult Html(string page, int statusCode = StatusCodes.Status200OK)
        => Results.Content(page, "text/html; charset=utf-8", Encoding.UTF8, statusCode);

    private static string Page(ClaimsPrincipal user, string? notice, SessionsView? sessions)
    {
        var message = notice is null ? string.Empty : $"""<p id="notice" role="alert">{WebUtility.HtmlEncode(notice)}</p>""";
        var body = user.Identity?.IsAuthenticated == true
            ? $"""
              <p>Signed in as <strong id="user">{WebUtility.HtmlEncode(user.Identity.Name)}</strong>.</p>
              <form method="post" action="/account/signout"><button id="signout">Sign out</button></form>
              <form method="post" action="/account/signout-everywhere"><button id="signout-everywhere">Sign out everywhere</button></form>
              {(sessions is null ? string.Empty : SessionsSection(sessions))}
              """
            : """
              <p id="user">Not signed in.</p>
              <form method="post" action="/account/signin">
                <label>Name <input id="name" name="name" maxlength="40" required></label>
                <button id="signin">Sign in</button>
              </form>
              """;
        return $"""
            <!doctype html>
            <html lang="en">
            <head><meta charset="utf-8"><title>Account · StateKit shop</title><link rel="stylesheet" href="/site.css"></head>
            <body><main><section><h1>Account</h1>{message}{body}<p><a href="/">Back to the shop</a></p></section></main></body>
            </html>
            """;
    }

    private static string SessionsSection(SessionsView view)
    {
        if (view.ListingUnavailable is { } reason)
        {
            return $"""<section><h2>Where you're signed in</h2><p id="sessions-unavailable">{WebUtility.HtmlEncode(reason)}</p></section>""";
        }

        var rows = new StringBuilder();
        foreach (var s in view.Sessions)
        {
            var id = WebUtility.HtmlEncode(s.PublicId);
            var isCurrent = s.PublicId == view.Current;

            // The user agent and address came from the client at sign-in: encoded like any other input.
            var device = WebUtility.HtmlEncode(s.Metadata.GetValueOrDefault("userAgent", "(unknown device)"));
            var address = WebUtility.HtmlEncode(s.Metadata.GetValueOrDefault("address", ""));
            var action = isCurrent
                ? """<strong class="this-device">This device</strong>"""
                : $"""<form method="post" action="/account/sessions/signout"><input type="hidden" name="session" value="{id}"><button class="end-session">Sign out</button></form>""";
            rows.Append(CultureInfo.InvariantCulture, $"""
                <tr class="session{(isCurrent ? " current" : string.Empty)}" data-public-id="{id}"><td class="device">{device}</td><td class="address">{address}</td><td>{Time(s.CreatedAt)}</td><td>{Time(s.LastActiveAt)}</td><td>{action}</td></tr>
                """);
        }

        var count = view.More
            ? $"{view.Sessions.Count} sessions shown, and more"
            : $"{view.Sessions.Count} {(view.Sessions.Count == 1 ? "session" : "sessions")}";
        return $"""
            <section>
              <h2>Where you're signed in</h2>
              <p id="session-count">{count}</p>
              <table id="sessions">
                <thead><tr><th>Device</th><th>Address</th><th>Signed in</th><th>Last active</th><th></th></tr></thead>
                <tbody>{rows}</tbody>
              </table>
            </section>
            """;
    }

    private static string Time(DateTimeOffset at)
        => $"""<time datetime="{at.UtcDateTime.ToString("O", CultureInfo.InvariantCulture)}">{at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture)}</time>""";

    /// <summary>What the account page shows of the user's sessions: a screen of them, or why it cannot.</summary>
    private sealed record SessionsView(IReadOnlyList<UserSessionInfo> Sessions, string? Current, bool More, string? ListingUnavailable);
}
