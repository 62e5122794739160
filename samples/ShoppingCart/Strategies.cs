using System;
using System.IO;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.Tokens;
using NeoSmart.Caching.Sqlite;
using StateKit.ClientSide;
using StateKit.Jwt;
using StateKit.Redis;
using StateKit.AspNetCore;
using StateKit.DependencyInjection;
using StateKit.Sticky;

namespace ShoppingCart;

/// <summary>
/// Picks the session strategy from configuration: <c>--store memory</c> (the default), <c>redis</c>, <c>clientside</c>,
/// <c>jwt</c>, <c>sticky</c>, <c>distributed</c> or <c>tiered</c>.
/// </summary>
internal static class Strategies
{
    public static Strategy Configure(WebApplicationBuilder builder)
    {
        var name = (builder.Configuration["store"] ?? "memory").Trim().ToLowerInvariant();
        builder.Services.AddStateKit(kit =>
        {
            switch (name)
            {
                // The server-held stores that keep a user index also keep each user to Account.MaxSessionsPerUser sign-ins.
                case "memory":
                    kit.UseInMemory(o => (o.MaxSessionsPerUser, o.SessionLimitPolicy) = Account.SessionLimit(builder.Configuration));
                    break;
                case "redis":
                    kit.UseRedis(RedisConnection(builder), o =>
                    {
                        o.KeyPrefix = "shoppingcart:";
                        (o.MaxSessionsPerUser, o.SessionLimitPolicy) = Account.SessionLimit(builder.Configuration);
                    });
                    break;
                case "clientside":
                    kit.UseClientSide(o => o.Keys.Add(new ClientSideKey(1, Key(builder, "ClientSideKey"))));
                    break;
                case "jwt":
                    kit.UseJwt(o =>
                    {
                        o.Issuer = "https://shoppingcart.sample";
                        o.Audience = "shoppingcart";
                        o.SigningKeys.Add(new SymmetricSecurityKey(Key(builder, "JwtSigningKey")) { KeyId = "sample-1" });
                    });
                    break;
                case "sticky":
                    // One node here; samples/ClusterDemo runs three behind YARP. A fresh key per run: tickets die with the process, as the state does.
                    kit.UseSticky(o =>
                    {
                        o.NodeId = builder.Configuration["node"] ?? "node-1";
                        o.Keys.Add(new StickyKey { Id = "demo", Secret = RandomNumberGenerator.GetBytes(32) });
                    });
                    break;
                case "distributed":
                    builder.Services.AddSingleton<IDistributedCache>(_ => OpenSqliteCache(builder));
                    kit.UseDistributedCache(o => o.KeyPrefix = "shoppingcart:");
                    break;
                case "tiered":
                    // The cart and the checkout in a server-held tier; the UI preference in the browser, sealed, where it
                    // costs no server memory and survives a restart even though the cart does not.
                    kit.AddTier("server", t => t.UseInMemory())
                        .AddTier("browser", t => t.UseClientSide(o => o.Keys.Add(new ClientSideKey(1, Key(builder, "ClientSideKey")))))
                        .MapKey("theme", "browser")
                        .WithDefaultTier("server");
                    break;
                default:
                    throw new ArgumentException($"Unknown --store '{name}'. Use one of: memory, redis, clientside, jwt, sticky, distributed, tiered.");
            }

            kit.AddHttp();
        });
        return Strategy.Of(name);
    }

    /// <summary>The configured Redis, or an embedded Garnet server started here so that the sample needs nothing installed.</summary>
    private static string RedisConnection(WebApplicationBuilder builder)
    {
        var configured = builder.Configuration.GetConnectionString("redis");
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return configured;
        }

        var port = EmbeddedGarnet.Start();
        Console.WriteLine($"No ConnectionStrings:redis given: started an embedded Garnet server on 127.0.0.1:{port}. Carts live as long as this process; pass --ConnectionStrings:redis=host:port to use a real Redis.");
        return $"127.0.0.1:{port},abortConnect=false";
    }

    /// <summary>
    /// A database-backed IDistributedCache: SQLite in one file (<c>--DistributedCache:Path</c>, by default in the temp
    /// directory), so the strategy needs nothing installed and the carts outlive the process.
    /// </summary>
    private static SqliteCache OpenSqliteCache(WebApplicationBuilder builder)
    {
        var path = builder.Configuration["DistributedCache:Path"];
        if (string.IsNullOrWhiteSpace(path))
        {
            path = Path.Combine(Path.GetTempPath(), "statekit-shoppingcart", "carts.db");
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        Console.WriteLine($"The distributed strategy keeps carts in the SQLite database {path}; pass --DistributedCache:Path=<file> to put it elsewhere.");

        // SQLitePCLRaw 3 leaves choosing the native SQLite to the application.
        SQLitePCL.Batteries_V2.Init();
        return new SqliteCache(new SqliteCacheOptions { CachePath = path });
    }

    private static byte[] Key(WebApplicationBuilder builder, string name)
        => Convert.FromBase64String(builder.Configuration["ShoppingCart:" + name] ?? throw new InvalidOperationException(
            $"ShoppingCart:{name} is not configured. appsettings.Development.json has a sample key; in production set your own 32-byte key, base64, e.g. through the environment variable ShoppingCart__{name}."));
}

internal sealed record Strategy(string Name, string Survives)
{
    public static Strategy Of(string name) => name switch
    {
        "memory" => new(name, "state lives in this process: a restart loses every cart"),
        "sticky" => new(name, "state lives in the memory of the node that created it; the ticket names that node"),
        "redis" => new(name, "state lives in Redis: it survives app restarts and node loss"),
        "jwt" => new(name, "state lives in a signed token the browser keeps: it survives restarts, and the browser can read it"),
        "clientside" => new(name, "state lives in an encrypted blob the browser keeps: it survives restarts"),
        "distributed" => new(name, "state lives in an IDistributedCache (here SQLite in a file): it survives app restarts"),
        "tiered" => new(name, "the cart lives in this process (a restart loses it); the theme in an encrypted blob the browser keeps (it survives)"),
        _ => new(name, "unknown"),
    };
}
