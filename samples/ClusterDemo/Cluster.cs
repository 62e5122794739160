using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ShoppingCart;
using StateKit.AspNetCore;
using StateKit.DependencyInjection;
using StateKit.Yarp;
using Yarp.ReverseProxy.Configuration;

namespace ClusterDemo;

/// <summary>A YARP gateway and three shop nodes on loopback, in this one process.</summary>
internal sealed class Cluster : IAsyncDisposable
{
    private readonly Strategy _strategy;
    private readonly Strategy.Shared _shared = new(new MemoryDistributedCache(Options.Create(new MemoryDistributedCacheOptions())), DemoRedis.Connection);
    private readonly Dictionary<string, WebApplication> _nodes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _addresses = new(StringComparer.Ordinal);
    private WebApplication? _gateway;
    private InMemoryConfigProvider? _config;

    private Cluster(Strategy strategy) => _strategy = strategy;

    public string GatewayAddress { get; private set; } = "";

    /// <param name="strategy">How the nodes keep state.</param>
    /// <param name="gatewayPort">The gateway's port; 0 for any free one. Nodes take the next three ports (or free ones).</param>
    /// <param name="logLevel">The nodes' and gateway's log level.</param>
    public static async Task<Cluster> StartAsync(Strategy strategy, int gatewayPort, LogLevel logLevel)
    {
        var cluster = new Cluster(strategy);
        for (var i = 1; i <= 3; i++)
        {
            await cluster.StartNodeAsync("node-" + i, gatewayPort == 0 ? 0 : gatewayPort + i, logLevel);
        }

        await cluster.StartGatewayAsync(gatewayPort, logLevel);
        return cluster;
    }

    /// <summary>A rolling deploy's step: out of the load balancer, then a graceful stop (sticky nodes drain).</summary>
    public async Task StopGracefullyAsync(string node)
    {
        _addresses.Remove(node);
        Reconfigure();
        var app = _nodes[node];
        _nodes.Remove(node);
        await app.StopAsync();
        await app.DisposeAsync();
    }

    /// <summary>A crash: the node vanishes mid-traffic (no drain), then the health check takes it out of the gateway.</summary>
    public async Task KillAsync(string node)
    {
        var app = _nodes[node];
        _nodes.Remove(node);
        await app.DisposeAsync();
        await Task.Delay(TimeSpan.FromMilliseconds(200));
        _addresses.Remove(node);
        Reconfigure();
    }

    public async ValueTask DisposeAsync()
    {
        if (_gateway is not null)
        {
            await _gateway.DisposeAsync();
        }

        foreach (var node in _nodes.Values)
        {
            await node.StopAsync();
            await node.DisposeAsync();
        }
    }

    private async Task StartNodeAsync(string nodeId, int port, LogLevel logLevel)
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.SetMinimumLevel(logLevel);
        ShopEndpoints.AddShop(builder.Services);
        builder.Services.AddStateKit(kit =>
        {
            _strategy.Configure(kit, nodeId, _shared);
            kit.AddHttp(o => o.CookieSecurePolicy = CookieSecurePolicy.SameAsRequest);
        });
        var app = builder.Build();
        var shop = new PhysicalFileProvider(Path.Combine(AppContext.BaseDirectory, "shop"));
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = shop });
        app.UseStaticFiles(new StaticFileOptions { FileProvider = shop });
        app.UseStateKit();
        app.Use((context, next) =>
        {
            context.Response.Headers["X-Node"] = nodeId;
            return next(context);
        });
        ShopEndpoints.Map(app, $"{_strategy.Name} ({nodeId})", _strategy.Note);
        await app.StartAsync();
        _nodes.Add(nodeId, app);
        _addresses.Add(nodeId, Address(app));
    }

    private async Task StartGatewayAsync(int port, LogLevel logLevel)
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.SetMinimumLevel(logLevel);
        builder.Services.AddReverseProxy()
            .LoadFromMemory([Route()], [ClusterConfig()])
            .AddStateKitAffinity(o => o.Keys.Add(_shared.Key));
        var app = builder.Build();
        app.MapReverseProxy();
        await app.StartAsync();
        _gateway = app;
        _config = app.Services.GetRequiredService<InMemoryConfigProvider>();
        GatewayAddress = Address(app);
    }

    private void Reconfigure() => _config!.Update([Route()], [ClusterConfig()]);

    private static string Address(WebApplication app)
        => app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

    private static RouteConfig Route() => new() { RouteId = "shop", ClusterId = "nodes", Match = new RouteMatch { Path = "{**catch-all}" } };

    private ClusterConfig ClusterConfig() => new()
    {
        ClusterId = "nodes",
        LoadBalancingPolicy = "RoundRobin",
        SessionAffinity = _strategy.Sticky
            ? new SessionAffinityConfig { Enabled = true, Policy = StateKitAffinityOptions.PolicyName, FailurePolicy = "Redistribute", AffinityKeyName = "statekit" }
            : null,
        Destinations = _addresses.ToDictionary(a => a.Key, a => new DestinationConfig { Address = a.Value }, StringComparer.Ordinal),
    };
}
