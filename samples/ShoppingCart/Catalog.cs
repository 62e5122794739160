using System.Collections.Generic;
using System.Linq;

namespace ShoppingCart;

/// <summary>The shop's products: fixed, so the sample needs no database.</summary>
internal static class Catalog
{
    public static readonly IReadOnlyList<Product> Products =
    [
        new("tea", "Green tea, 100 g", 6.50m),
        new("mug", "Stoneware mug", 14.00m),
        new("kettle", "Gooseneck kettle", 49.00m),
        new("beans", "Coffee beans, 1 kg", 24.90m),
    ];

    public static Product? Find(string sku) => Products.FirstOrDefault(p => p.Sku == sku);
}

internal sealed record Product(string Sku, string Name, decimal Price);
