using System.Collections.Generic;
using System.Text.Json.Serialization;

namespace StateKit.Testing;

/// <summary>A value with some shape, to round-trip through every store.</summary>
public sealed record Cart(string Owner, List<CartLine> Lines);

/// <summary>One line of a <see cref="Cart"/>.</summary>
public sealed record CartLine(string Sku, int Quantity, decimal Price);

/// <summary>Source-generated JSON metadata, so the contract exercises the AOT-friendly overloads.</summary>
[JsonSerializable(typeof(Cart))]
[JsonSerializable(typeof(int))]
[JsonSerializable(typeof(string))]
public sealed partial class ContractJsonContext : JsonSerializerContext;
