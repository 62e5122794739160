using System.Collections.Generic;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace ShoppingCart;

/// <summary>A two-step checkout whose progress survives reloads and restarts (where the strategy allows).</summary>
internal sealed class Checkout
{
    public int Step { get; set; } = 1;

    public string? Name { get; set; }

    public string? Address { get; set; }
}

/// <summary>What the page shows.</summary>
/// <summary>What the page shows. <see cref="Sync"/> says whether the cart syncs offline (stores with compare-and-set).</summary>
internal sealed record ShopView(string Strategy, string Survives, int TicketLength, IReadOnlyList<CartLineView> Cart, decimal Total, Checkout Checkout, string Theme, string? LastOrder, bool Sync);

internal sealed record CartLineView(string Sku, string Name, int Quantity, decimal Subtotal);

internal sealed record CheckoutInput(string? Name, string? Address);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
// The cart: quantity per SKU, a plain JSON object so that the sync endpoint's counter operations add to it per SKU.
[JsonSerializable(typeof(Dictionary<string, int>))]
[JsonSerializable(typeof(Checkout))]
[JsonSerializable(typeof(ShopView))]
[JsonSerializable(typeof(CheckoutInput))]
[JsonSerializable(typeof(IReadOnlyList<Product>))]
[JsonSerializable(typeof(string))]
internal sealed partial class ShopJson : JsonSerializerContext;
