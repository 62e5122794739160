using System;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using StateKit.AspNetCore;
using StateKit.DependencyInjection;
using StateKit.Sticky;

namespace ShoppingCart;

/// <summary>Picks the session strategy from configuration: <c>--store memory</c> (the default).</summary>
internal static class Strategies
{
    public static Strategy Configure(WebApplicationBuilder builder)
    {
        var name = (builder.Configuration["store"] ?? "memory").Trim().ToLowerInvariant();
        builder.Services.AddStateKit(kit =>
        {
            switch (name)
            {
                case "memory":
                    kit.UseInMemory();
                    break;
                case "sticky":
                    // One node here; samples/ClusterDemo runs three behind YARP. A fresh key per run: tickets die with the process, as the state does.
                    kit.UseSticky(o =>
                    {
                        o.NodeId = builder.Configuration["node"] ?? "node-1";
                        o.Keys.Add(new StickyKey { Id = "demo", Secret = RandomNumberGenerator.GetBytes(32) });
                    });
                    break;
                default:
                    throw new ArgumentException($"Unknown --store '{name}'. Use one of: memory, sticky.");
            }

            kit.AddHttp();
        });
        return Strategy.Of(name);
    }
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
        _ => new(name, "unknown"),
    };
}
