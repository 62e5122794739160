using System.Text.Json.Serialization;
using Microsoft.IdentityModel.Tokens;
using StateKit;
using StateKit.AspNetCore;
using StateKit.DependencyInjection;
using StateKit.Jwt;
using StateKit.Redis;

// The pattern docs/aspnetcore.md teaches for native AOT, on the store named by --store (memory, redis, jwt).
var builder = WebApplication.CreateSlimBuilder(args);
var store = builder.Configuration["store"] ?? "memory";
builder.Services.AddStateKit(kit =>
{
    switch (store)
    {
        case "memory":
            kit.UseInMemory();
            break;
        case "redis":
            kit.UseRedis(builder.Configuration["redis"] ?? throw new ArgumentException("--redis host:port is required with --store redis."));
            break;
        case "jwt":
            kit.UseJwt(o =>
            {
                o.Issuer = "https://consumer.example";
                o.Audience = "consumer";
                o.SigningKeys.Add(new SymmetricSecurityKey(Convert.FromBase64String(builder.Configuration["jwtkey"] ?? throw new ArgumentException("--jwtkey base64 is required with --store jwt."))) { KeyId = "k1" });
            });
            break;
        default:
            throw new ArgumentException($"Unknown --store '{store}': memory, redis or jwt.");
    }

#if !OLD_PATTERN
    kit.ConfigureJson(o => o.TypeInfoResolverChain.Insert(0, AppJson.Default));
#endif
    kit.AddHttp();
});
builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, AppJson.Default));

var app = builder.Build();
app.UseStateKit();

app.MapGet("/count", async (StateSession session) =>
{
#if OLD_PATTERN
    var n = await session.GetAsync("n", AppJson.Default.Int32);
    session.Set("n", n + 1, AppJson.Default.Int32);
#else
    var n = await session.GetAsync<int>("n");
    session.Set("n", n + 1);
#endif
    return "n=" + (n + 1);
});

#if OLD_PATTERN
// As docs/aspnetcore.md's setup showed it before: returning the cart from here does not even compile under AOT
// (CS1031/CS7003 in the generated route extensions), so the old docs' handler returned nothing.
app.MapPost("/cart/{sku}", async (string sku, StateSession session) =>
{
    var cart = await session.GetAsync("cart", AppJson.Default.Cart) ?? new Cart();
    cart.Items.Add(sku);
    session.Set("cart", cart, AppJson.Default.Cart);
});
#else
app.MapPost("/cart/{sku}", async (string sku, StateSession session) =>
{
    var cart = await session.GetAsync<Cart>("cart") ?? new Cart();
    cart.Items.Add(sku);
    session.Set("cart", cart);
    return cart;
});
#endif

app.Run();

public sealed class Cart
{
    public List<string> Items { get; set; } = [];
}

[JsonSerializable(typeof(int))]
[JsonSerializable(typeof(Cart))]
internal sealed partial class AppJson : JsonSerializerContext;
