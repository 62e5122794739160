using System;
using System.Security.Cryptography;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.DependencyInjection;
using StateKit.DependencyInjection;
using StateKit.ClientSide;
using StateKit.Jwt;
using StateKit.Redis;
using StateKit.Sticky;
using Microsoft.IdentityModel.Tokens;

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
        new("sticky+redis", true, "node memory, write-behind to Redis", (kit, node, shared) =>
        {
            kit.UseSticky(o => { Node(o, node, shared); o.BackupStoreName = "backup"; });
            kit.AddStore("backup", b => b.UseRedis(shared.RedisConnection, o => o.KeyPrefix = shared.RedisPrefix));
        }),
        new("redis", false, "Redis, shared by every node", (kit, _, shared) => kit.UseRedis(shared.RedisConnection, o => o.KeyPrefix = shared.RedisPrefix)),
        new("jwt", false, "a signed token the browser keeps", (kit, _, shared) => kit.UseJwt(o =>
        {
            o.Issuer = "https://clusterdemo.sample";
            o.Audience = "clusterdemo";
            o.SigningKeys.Add(new SymmetricSecurityKey(shared.Secret) { KeyId = "demo" });
        })),
        new("clientside", false, "a sealed blob the browser keeps", (kit, _, shared) => kit.UseClientSide(o => o.Keys.Add(new ClientSideKey(1, shared.Secret)))),
        new("shared-cache", false, "an IDistributedCache shared by every node (in-process here)", (kit, _, shared) => SharedCache(kit, shared)),
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
    internal sealed class Shared(IDistributedCache cache, string redisConnection)
    {
        public StickyKey Key { get; } = new() { Id = "demo", Secret = RandomNumberGenerator.GetBytes(32) };

        /// <summary>Gets the key every node seals or signs client-held tickets with: nodes must agree, or tickets die at the gateway's next hop.</summary>
        public byte[] Secret { get; } = RandomNumberGenerator.GetBytes(32);

        public IDistributedCache Cache { get; } = cache;

        public string RedisConnection { get; } = redisConnection;

        /// <summary>Gets a key prefix of this cluster's own, so runs sharing one Redis never see each other's sessions.</summary>
        public string RedisPrefix { get; } = "clusterdemo:" + Convert.ToHexString(RandomNumberGenerator.GetBytes(4)) + ":";
    }
}
