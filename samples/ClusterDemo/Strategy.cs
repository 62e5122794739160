using System;
using System.Security.Cryptography;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.DependencyInjection;
using StateKit.DependencyInjection;
using StateKit.Sticky;

namespace ClusterDemo;

/// <summary>
/// How the three nodes keep state. Each strategy configures one node's StateKit; <see cref="Shared"/> is what every node
/// of the cluster shares (the key ring, the backup or session cache). Adding a strategy is one entry in <see cref="All"/>.
/// </summary>
internal sealed record Strategy(string Name, bool Sticky, string Note, Action<StateKitBuilder, string, Strategy.Shared> Configure)
{
    public static readonly Strategy[] All =
    [
        new("sticky", true, "node memory, no backup", (kit, node, shared) => kit.UseSticky(o => Node(o, node, shared))),
        new("sticky+backup", true, "node memory, write-behind to a shared cache", (kit, node, shared) =>
        {
            kit.UseSticky(o => { Node(o, node, shared); o.BackupStoreName = "backup"; });
            kit.AddStore("backup", b => SharedCache(b, shared));
        }),
        new("shared-cache", false, "stand-in for redis: a server-side store shared by every node", (kit, _, shared) => SharedCache(kit, shared)),

        // Not in this tree yet; each is one line once its package is merged, e.g.
        // new("redis", false, "Redis", (kit, _, shared) => kit.UseRedis(shared.RedisConnection)),
        // new("jwt", false, "signed token", (kit, _, shared) => kit.UseJwt(...)),
        // new("clientside", false, "sealed blob", (kit, _, shared) => kit.UseClientSide(...)),
    ];

    public static Strategy Find(string name) => Array.Find(All, s => s.Name == name)
        ?? throw new ArgumentException($"Unknown strategy '{name}'. Use one of: {string.Join(", ", Array.ConvertAll(All, s => s.Name))}.");

    private static void Node(StickySessionStoreOptions o, string node, Shared shared)
    {
        o.NodeId = node;
        o.Keys.Add(shared.Key);
    }

    private static void SharedCache(StateKitBuilder kit, Shared shared)
    {
        kit.Services.AddSingleton(shared.Cache);
        kit.UseDistributedCache();
    }

    /// <summary>What every node of one cluster shares.</summary>
    internal sealed class Shared(IDistributedCache cache)
    {
        public StickyKey Key { get; } = new() { Id = "demo", Secret = RandomNumberGenerator.GetBytes(32) };

        public IDistributedCache Cache { get; } = cache;
    }
}
