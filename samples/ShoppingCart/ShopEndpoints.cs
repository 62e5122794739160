using System;
using System.Linq;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using StateKit;
using StateKit.AspNetCore;

namespace ShoppingCart;

/// <summary>The shop's API, in one place so that other samples (ClusterDemo) serve the very same shop.</summary>
public static class ShopEndpoints
{
    /// <summary>Registers what the endpoints need (source-generated JSON).</summary>
    public static IServiceCollection AddShop(IServiceCollection services)
        => services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, ShopJson.Default));

    /// <summary>Maps the shop's API under /api; <paramref name="sync"/> tells the page the cart syncs through /statekit/sync.</summary>
    public static void Map(IEndpointRouteBuilder app, string strategyName, string survives, bool sync = false)
    {
        var api = app.MapGroup("/api");
        api.MapGet("/products", () => Catalog.Products).DisableStateKit();

        api.MapGet("/state", async (HttpContext context, StateSession session) =>
        {
            var cart = await session.GetAsync("cart", ShopJson.Default.DictionaryStringInt32) ?? [];
            var checkout = session.Get("checkout", ShopJson.Default.Checkout) ?? new Checkout();
            var theme = session.Get("theme", ShopJson.Default.String) ?? "light";
            var lastOrder = session.Get("lastOrder", ShopJson.Default.String);
            var lines = Cart.Lines(cart);
            return new ShopView(strategyName, survives, TicketLength(context), lines, lines.Sum(l => l.Subtotal), checkout, theme, lastOrder, sync);
        });

        api.MapPost("/cart/{sku}", async (string sku, int? quantity, StateSession session) =>
        {
            if (Catalog.Find(sku) is null)
            {
                return Results.NotFound();
            }

            var cart = await session.GetAsync("cart", ShopJson.Default.DictionaryStringInt32) ?? [];
            Cart.Add(cart, sku, quantity ?? 1);
            session.Set("cart", cart, ShopJson.Default.DictionaryStringInt32);
            return Results.NoContent();
        });

        api.MapPost("/checkout", async (CheckoutInput input, StateSession session) =>
        {
            var checkout = await session.GetAsync("checkout", ShopJson.Default.Checkout) ?? new Checkout();
            if (checkout.Step == 1 && !string.IsNullOrWhiteSpace(input.Name))
            {
                checkout.Name = input.Name.Trim();
                checkout.Step = 2;
                session.Set("checkout", checkout, ShopJson.Default.Checkout);
                return Results.NoContent();
            }

            if (checkout.Step == 2 && !string.IsNullOrWhiteSpace(input.Address))
            {
                var order = "SK-" + Random.Shared.Next(100_000, 999_999);
                session.Remove("cart");
                session.Remove("checkout");
                session.Set("lastOrder", order, ShopJson.Default.String);
                return Results.NoContent();
            }

            return Results.BadRequest("Fill in the field of the current step.");
        });

        api.MapPost("/checkout/back", (StateSession session) =>
        {
            session.Remove("checkout");
            return Results.NoContent();
        });

        api.MapPost("/theme/{theme}", (string theme, StateSession session) =>
        {
            session.Set("theme", theme == "dark" ? "dark" : "light", ShopJson.Default.String);
            return Results.NoContent();
        });
    }

    // HttpOnly cookies are invisible to the page's script, so the server tells it how big the ticket is. Over https the
    // cookies carry the __Host- prefix.
    private static int TicketLength(HttpContext context)
        => context.Request.Cookies
            .Where(c => c.Key.StartsWith("statekit", StringComparison.Ordinal) || c.Key.StartsWith("__Host-statekit", StringComparison.Ordinal))
            .Sum(c => c.Value.Length);
}
