using System.Collections.Generic;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace ShoppingCart;

/// <summary>The cart: quantity per SKU.</summary>
internal sealed class Cart
{
    public Dictionary<string, int> Lines { get; set; } = [];
}

/// <summary>A two-step checkout whose progress survives reloads and restarts (where the strategy allows).</summary>
internal sealed class Checkout
{
    public int Step { get; set; } = 1;

    public string? Name { get; set; }

    public string? Address { get; set; }
}

/// <summary>What the page shows.</summary>
internal sealed record ShopView(string Strategy, string Survives, int TicketLength, IReadOnlyList<CartLineView> Cart, decimal Total, Checkout Checkout, string Theme, string? LastOrder);

internal sealed record CartLineView(string Sku, string Name, int Quantity, decimal Subtotal);

internal sealed record CheckoutInput(string? Name, string? Address);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(Cart))]
[JsonSerializable(typeof(Checkout))]
[JsonSerializable(typeof(ShopView))]
[JsonSerializable(typeof(CheckoutInput))]
[JsonSerializable(typeof(IReadOnlyList<Product>))]
[JsonSerializable(typeof(string))]
internal sealed partial class ShopJson : JsonSerializerContext;
