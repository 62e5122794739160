using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StateKit.AspNetCore;
using StateKit.DependencyInjection;
using StateKit.Sticky;
using Yarp.ReverseProxy.Configuration;

namespace StateKit.Yarp.Tests;

/// <summary>
/// Real app nodes (Kestrel on 127.0.0.1, free ports) behind a real YARP gateway (Kestrel on 127.0.0.1), all in this
/// process. Each node keeps sessions with the sticky store; with a backup, every node shares one backup store.
/// </summary>
internal sealed class LoopbackCluster : IAsyncDisposable
{
    public static readonly StickyKey Key = new() { Id = "k1", Secret = Enumerable.Range(7, 32).Select(i => (byte)i).ToArray() };

    private readonly Dictionary<string, WebApplication> _nodes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _addresses = new(StringComparer.Ordinal);
    private readonly Action<StateKitBuilder>? _backup;
    private readonly string _failurePolicy;
    private WebApplication? _gateway;
    private InMemoryConfigProvider? _config;

    private LoopbackCluster(Action<StateKitBuilder>? backup, string failurePolicy)
    {
        _backup = backup;
        _failurePolicy = failurePolicy;
    }

    public Uri GatewayAddress { get; private set; } = null!;

    public IReadOnlyCollection<string> NodeIds => _nodes.Keys;

    /// <param name="nodes">How many app nodes.</param>
    /// <param name="backup">Registers the backup store on each node (as the named store "backup"), or null for none.</param>
    /// <param name="failurePolicy">YARP's SessionAffinity.FailurePolicy.</param>
    public static async Task<LoopbackCluster> StartAsync(int nodes, Action<StateKitBuilder>? backup, string failurePolicy = "Redistribute")
    {
        var cluster = new LoopbackCluster(backup, failurePolicy);
        for (var i = 1; i <= nodes; i++)
        {
            await cluster.StartNodeAsync("n" + i);
        }

        await cluster.StartGatewayAsync();
        return cluster;
    }

    public StickySessionStore Store(string node) => _nodes[node].Services.GetRequiredKeyedService<StickySessionStore>(SessionStores.DefaultName);

    /// <summary>A rolling deploy's step: the node leaves the load balancer, then stops gracefully (the host drains its sessions).</summary>
    public async Task StopGracefullyAsync(string node)
    {
        RemoveDestination(node);
        await _nodes[node].StopAsync();
        await _nodes[node].DisposeAsync();
        _nodes.Remove(node);
    }

    /// <summary>A crash: the node's host is torn down without stopping (no drain; the write-behind queue is abandoned), then health checking takes it out.</summary>
    public async Task KillAsync(string node)
    {
        await _nodes[node].DisposeAsync();
        _nodes.Remove(node);
        RemoveDestination(node);
    }

    public HttpClient NewUser()
    {
        var handler = new HttpClientHandler { CookieContainer = new CookieContainer(), UseCookies = true };
        return new HttpClient(handler, disposeHandler: true) { BaseAddress = GatewayAddress };
    }

    public async ValueTask DisposeAsync()
    {
        if (_gateway is not null)
        {
            await _gateway.DisposeAsync();
        }

        foreach (var node in _nodes.Values)
        {
            await node.DisposeAsync();
        }
    }

    private async Task StartNodeAsync(string nodeId)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddStateKit(kit =>
        {
            kit.UseSticky(o =>
            {
                o.NodeId = nodeId;
                o.Keys.Add(Key);
                o.BackupStoreName = _backup is null ? null : "backup";
            });
            if (_backup is not null)
            {
                kit.AddStore("backup", _backup);
            }

            kit.AddHttp(o => o.CookieSecurePolicy = CookieSecurePolicy.SameAsRequest);
        });
        var app = builder.Build();
        app.UseStateKit();
        app.MapPost("/add", async (StateSession session) =>
        {
            var count = (await session.GetAsync("count", TestJson.Default.Int32)) + 1;
            session.Set("count", count, TestJson.Default.Int32);
            return nodeId + ":" + count;
        });
        app.MapGet("/count", async (StateSession session) => nodeId + ":" + await session.GetAsync("count", TestJson.Default.Int32));
        await app.StartAsync();
        _nodes.Add(nodeId, app);
        _addresses.Add(nodeId, app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
    }

    private async Task StartGatewayAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddReverseProxy()
            .LoadFromMemory([Route()], [Cluster()])
            .AddStateKitAffinity(o => o.Keys.Add(Key));
        var app = builder.Build();
        app.MapReverseProxy();
        await app.StartAsync();
        _gateway = app;
        _config = app.Services.GetRequiredService<InMemoryConfigProvider>();
        GatewayAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
    }

    private void RemoveDestination(string node)
    {
        _addresses.Remove(node);
        _config!.Update([Route()], [Cluster()]);
    }

    private static RouteConfig Route() => new() { RouteId = "all", ClusterId = "app", Match = new RouteMatch { Path = "{**catch-all}" } };

    private ClusterConfig Cluster() => new()
    {
        ClusterId = "app",
        LoadBalancingPolicy = "RoundRobin",
        SessionAffinity = new SessionAffinityConfig
        {
            Enabled = true,
            Policy = StateKitAffinityOptions.PolicyName,
            FailurePolicy = _failurePolicy,
            AffinityKeyName = "statekit",
        },
        Destinations = _addresses.ToDictionary(a => a.Key, a => new DestinationConfig { Address = a.Value }, StringComparer.Ordinal),
    };
}

[System.Text.Json.Serialization.JsonSerializable(typeof(int))]
internal sealed partial class TestJson : System.Text.Json.Serialization.JsonSerializerContext;

/// <summary>One shared cache for every node: the backup the in-process cluster writes to.</summary>
internal static class Backups
{
    public static Action<StateKitBuilder> SharedDistributedCache()
    {
        var cache = new MemoryDistributedCache(Options.Create(new MemoryDistributedCacheOptions()));
        return backup =>
        {
            backup.Services.AddSingleton<IDistributedCache>(cache);
            backup.UseDistributedCache();
        };
    }
}
