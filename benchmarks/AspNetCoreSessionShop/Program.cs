// ASP.NET Core's own session (AddSession) serving the ShoppingCart sample's shop API: the baseline rows of the end-to-end
// benchmark (dotnet run -c Release --project benchmarks/StateKit.Benchmarks -- --e2e). Same routes and responses as the
// sample (its catalog, cart rules and JSON types are compiled in), and the sample's pipeline minus StateKit: cookie
// authentication, no static files (the sample's static file middleware skips every API request anyway), so that the rows
// differ in the session only:
//   --cache memory   AddDistributedMemoryCache (MemoryDistributedCache), the default
//   --cache redis    AddStackExchangeRedisCache (RedisCache) on --ConnectionStrings:redis=host:port
using System;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Session;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using ShoppingCart;

var builder = WebApplication.CreateBuilder(args);
builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, ShopJson.Default));
var cache = (builder.Configuration["cache"] ?? "memory").Trim().ToLowerInvariant();
var survives = cache switch
{
    "memory" => "state lives in this process (MemoryDistributedCache): a restart loses every cart",
    "redis" => "state lives in Redis (RedisCache): it survives app restarts and node loss",
    _ => throw new ArgumentException($"Unknown --cache '{cache}'. Use memory or redis."),
};
if (cache == "redis")
{
    builder.Services.AddStackExchangeRedisCache(o =>
    {
        o.Configuration = builder.Configuration.GetConnectionString("redis")
            ?? throw new InvalidOperationException("--cache redis needs --ConnectionStrings:redis=host:port.");
        o.InstanceName = "shoppingcart:";
    });
}
else
{
    builder.Services.AddDistributedMemoryCache();
}

builder.Services.AddSession();
builder.Services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme).AddCookie();

var app = builder.Build();
app.UseAuthentication();
app.UseSession();

var strategy = "aspnetcore-" + cache;
var api = app.MapGroup("/api");
api.MapGet("/products", () => Catalog.Products);

api.MapGet("/state", async (HttpContext context) =>
{
    // Loaded asynchronously, as the docs ask: otherwise the first read loads it synchronously.
    var session = context.Session;
    await session.LoadAsync(context.RequestAborted);
    var cart = Get(session, "cart", ShopJson.Default.DictionaryStringInt32) ?? [];
    var checkout = Get(session, "checkout", ShopJson.Default.Checkout) ?? new Checkout();
    var theme = Get(session, "theme", ShopJson.Default.String) ?? "light";
    var lastOrder = Get(session, "lastOrder", ShopJson.Default.String);
    var lines = Cart.Lines(cart);
    var cookie = context.Request.Cookies[SessionDefaults.CookieName]?.Length ?? 0;
    return new ShopView(strategy, survives, cookie, lines, lines.Sum(l => l.Subtotal), checkout, theme, lastOrder, Sync: false);
});

api.MapPost("/cart/{sku}", async (string sku, int? quantity, HttpContext context) =>
{
    if (Catalog.Find(sku) is null)
    {
        return Results.NotFound();
    }

    var session = context.Session;
    await session.LoadAsync(context.RequestAborted);
    var cart = Get(session, "cart", ShopJson.Default.DictionaryStringInt32) ?? [];
    Cart.Add(cart, sku, quantity ?? 1);
    session.Set("cart", JsonSerializer.SerializeToUtf8Bytes(cart, ShopJson.Default.DictionaryStringInt32));
    return Results.NoContent();
});

app.Run();

// ASP.NET Core's session keeps bytes per key: each value is its JSON, as StateKit keeps it.
static T? Get<T>(ISession session, string key, JsonTypeInfo<T> type)
    => session.TryGetValue(key, out var json) ? JsonSerializer.Deserialize(json, type) : default;
