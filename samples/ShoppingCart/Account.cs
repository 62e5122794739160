using System;
using System.Net;
using System.Security.Claims;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using StateKit.AspNetCore;
using StateKit.DependencyInjection;

namespace ShoppingCart;

/// <summary>
/// A minimal sign-in (a name, no password) on ASP.NET Core's cookie authentication, whose tickets live in a StateKit store:
/// the cookie carries a key, "sign out everywhere" ends every sign-in of the user. The page is /account.
/// </summary>
internal static class Account
{
    /// <summary>The StateKit store tickets live in when the strategy's own store keeps state in the browser.</summary>
    private const string AuthStore = "auth";

    public static void Add(WebApplicationBuilder builder, Strategy strategy)
    {
        // A ticket must stay on the server to be revocable: with a client-held strategy the sign-ins get an in-memory store of their own.
        var storeName = strategy.Name is "clientside" or "jwt" or "tiered" ? AuthStore : SessionStores.DefaultName;
        if (storeName == AuthStore)
        {
            builder.Services.AddStateKit(kit => kit.AddStore(AuthStore, s => s.UseInMemory()));
        }

        builder.Services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme)
            .AddCookie(o => o.LoginPath = "/account")
            .UseStateKitTickets(storeName);
    }

    public static void Map(WebApplication app)
    {
        app.MapGet("/account", (HttpContext context) => Results.Content(Page(context.User), "text/html; charset=utf-8"));

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
            await context.SignInAsync(new ClaimsPrincipal(identity));
            return Results.Redirect("/account");
        });

        app.MapPost("/account/signout", async (HttpContext context) =>
        {
            await context.SignOutAsync();
            return Results.Redirect("/account");
        });

        app.MapPost("/account/signout-everywhere", async (HttpContext context, StateKitTicketStore tickets) =>
        {
            if (context.User.FindFirstValue(ClaimTypes.NameIdentifier) is { } userId)
            {
                await tickets.RevokeUserAsync(userId, context.RequestAborted);
            }

            return Results.Redirect("/account");
        });
    }

    private static string Page(ClaimsPrincipal user)
    {
        var body = user.Identity?.IsAuthenticated == true
            ? $"""
              <p>Signed in as <strong id="user">{WebUtility.HtmlEncode(user.Identity.Name)}</strong>.</p>
              <form method="post" action="/account/signout"><button id="signout">Sign out</button></form>
              <form method="post" action="/account/signout-everywhere"><button id="signout-everywhere">Sign out everywhere</button></form>
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
            <body><main><section><h1>Account</h1>{body}<p><a href="/">Back to the shop</a></p></section></main></body>
            </html>
            """;
    }
}
