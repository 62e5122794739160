using System;
using ShoppingCart;

namespace ClusterDemo;

/// <summary>
/// The Redis the redis strategies use: <c>--ConnectionStrings:redis=host:port</c> when given, else one embedded Garnet
/// server for this whole process, started on first use (it outlives the nodes the scenario stops and kills, as an
/// external Redis would).
/// </summary>
internal static class DemoRedis
{
    private static readonly Lazy<string> Embedded = new(() =>
    {
        var port = EmbeddedGarnet.Start();
        Console.WriteLine($"(redis strategies: embedded Garnet on 127.0.0.1:{port}; pass --ConnectionStrings:redis=host:port for a real Redis)");
        return $"127.0.0.1:{port},abortConnect=false";
    });

    public static string? Configured { get; set; }

    public static string Connection => string.IsNullOrWhiteSpace(Configured) ? Embedded.Value : Configured;
}
