using System;
using System.Collections.Generic;
using System.Linq;

namespace ShoppingCart;

/// <summary>
/// The cart's rules, apart from where the cart is kept: benchmarks/AspNetCoreSessionShop serves the very same cart on ASP.NET
/// Core's own session, as the end-to-end benchmark's baseline.
/// </summary>
internal static class Cart
{
    /// <summary>Adds <paramref name="quantity"/> of <paramref name="sku"/> (a negative one takes out); a line at zero goes.</summary>
    public static void Add(Dictionary<string, int> cart, string sku, int quantity)
    {
        var next = Math.Max(0, (cart.TryGetValue(sku, out var q) ? q : 0) + quantity);
        if (next == 0)
        {
            cart.Remove(sku);
        }
        else
        {
            cart[sku] = next;
        }
    }

    /// <summary>The cart's lines as the page shows them, priced from the catalog.</summary>
    public static List<CartLineView> Lines(Dictionary<string, int> cart)
        // Two devices taking the last one out at once can leave a count below zero: no line, as at zero.
        => cart
            .Select(l => (Line: l, Product: Catalog.Find(l.Key)))
            .Where(x => x.Product is not null && x.Line.Value > 0)
            .Select(x => new CartLineView(x.Line.Key, x.Product!.Name, x.Line.Value, x.Product.Price * x.Line.Value))
            .ToList();
}
