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
using StateKit.Caching;
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
    private readonly Func<ISessionInvalidationBus>? _bus;
    private readonly string _failurePolicy;
    private WebApplication? _gateway;
    private InMemoryConfigProvider? _config;

    private LoopbackCluster(Action<StateKitBuilder>? backup, Func<ISessionInvalidationBus>? bus, string failurePolicy)
    {
        _backup = backup;
        _bus = bus;
        _failurePolicy = failurePolicy;
    }

    public Uri GatewayAddress { get; private set; } = null!;

    public IReadOnlyCollection<string> NodeIds => _nodes.Keys;

    /// <param name="nodes">How many app nodes.</param>
    /// <param name="backup">Registers the backup store on each node (as the named store "backup"), or null for none.</param>
    /// <param name="failurePolicy">YARP's SessionAffinity.FailurePolicy.</param>
    /// <param name="bus">Makes each node's invalidation bus (registered in DI), or null for none.</param>
    public static async Task<LoopbackCluster> StartAsync(int nodes, Action<StateKitBuilder>? backup, string failurePolicy = "Redistribute", Func<ISessionInvalidationBus>? bus = null)
    {
        var cluster = new LoopbackCluster(backup, bus, failurePolicy);
        for (var i = 1; i <= nodes; i++)
        {
            await cluster.StartNodeAsync("n" + i);
        }

        await cluster.StartGatewayAsync();
        return cluster;
    }

    public StickySessionStore Store(string node) => _nodes[node].Services.GetRequiredKeyedService<StickySessionStore>(SessionStores.DefaultName);

    /// <summary>The node's own address, past the gateway: where an operator calls the drain endpoint.</summary>
    public Uri NodeAddress(string node) => new(_addresses[node]);

    public ISessionInvalidationBus Bus(string node) => _nodes[node].Services.GetRequiredService<ISessionInvalidationBus>();

    /// <summary>
    /// Builds every node's store (so that it listens to the bus), then publishes probes until every node hears them: from
    /// then on a message published on any node reaches every store. Retried only because a Redis subscription is
    /// established in the background; nothing is asserted on time.
    /// </summary>
    public async Task BusLiveAsync()
    {
        foreach (var node in _nodes.Keys)
        {
            _ = Store(node);
        }

        foreach (var node in _nodes.Keys)
        {
            var probe = "probe-" + Guid.NewGuid().ToString("N");
            using var heard = WhenHeard(node, m => m.SessionId == probe, out var task);
            for (var attempt = 0; !task.IsCompleted; attempt++)
            {
                if (attempt == 500)
                {
                    throw new TimeoutException($"node {node} never heard the bus");
                }

                await Bus(_nodes.Keys.First(n => n != node)).PublishAsync(new SessionInvalidation(probe, 0));
                await Task.WhenAny(task, Task.Delay(20));
            }
        }
    }

    /// <summary>Listens on a node's bus after its store: when the task completes, the store has handled the message.</summary>
    public IDisposable WhenHeard(string node, Func<SessionInvalidation, bool> match, out Task heard)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        heard = done.Task;
        return Bus(node).Subscribe(m =>
        {
            if (match(m))
            {
                done.TrySetResult();
            }
        });
    }

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
        if (_bus is not null)
        {
            var bus = _bus;
            builder.Services.AddSingleton(_ => bus());
        }

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
        builder.Services.AddHealthChecks().AddCheck<StickyDrainHealthCheck>("statekit-drain");
        var app = builder.Build();
        app.UseStateKitDrainSignal();
        app.UseStateKit();

        // Unauthenticated here only because the tests call it on the node's own loopback port; an app requires a policy.
        app.MapStateKitDrain();
        app.MapHealthChecks("/health/ready");
        app.MapPost("/add", async (StateSession session) =>
        {
            var count = (await session.GetAsync("count", TestJson.Default.Int32)) + 1;
            session.Set("count", count, TestJson.Default.Int32);
            return nodeId + ":" + count;
        });
        app.MapGet("/count", async (StateSession session) => nodeId + ":" + await session.GetAsync("count", TestJson.Default.Int32));
        app.MapPost("/signin/{user}", (string user, StateSession session) =>
        {
            session.Set("count", 1, TestJson.Default.Int32);
            session.BindUser(user);
            return nodeId + ":1";
        });
        app.MapPost("/signout-everywhere/{user}", async (string user, HttpContext context) =>
        {
            var revoked = await context.RequestServices.GetRequiredKeyedService<StickySessionStore>(SessionStores.DefaultName).RevokeUserAsync(user);
            return nodeId + ":" + revoked;
        });
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
