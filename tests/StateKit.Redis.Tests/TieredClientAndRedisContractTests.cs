using System.Collections.Generic;
using StateKit.Redis.Tests.Servers;
using StateKit.Redis.Testing;
using StateKit.Testing;
using StateKit.Tiering;

namespace StateKit.Redis.Tests;

/// <summary>
/// The shared contract through a tiered store whose tiers are a client-held one (sealed tickets: "name" and every key
/// not mapped) and Redis ("cart"): the composite ticket, and every field of a commit, must reach both. Each tier has room
/// for the binding every part carries, so the composite's limit is the contract's.
/// </summary>
public sealed class TieredClientAndRedisContractTests(RedisFixture redis) : SessionStoreContract, IClassFixture<RedisFixture>
{
    // TieredSessionStore.BindingPayloadBytes, internal to the core; Capabilities_MaxPayloadBytes_IsTheExactLimit fails if they part.
    private const int BindingPayloadBytes = 25;

    protected override ISessionStore CreateStore() => Tiered(CreateClientHeldStore(BindingPayloadBytes));

    protected override ISessionStore? DecorateClientHeld(ISessionStore clientHeld) => Tiered(clientHeld);

    private TieredSessionStore Tiered(ISessionStore clientHeld) => new(
        new Dictionary<string, ISessionStore>
        {
            ["client"] = clientHeld,
            ["redis"] = new RedisSessionStore(
                redis.Redis,
                new RedisSessionStoreOptions
                {
                    IdleTimeout = IdleTimeout,
                    AbsoluteLifetime = AbsoluteLifetime,
                    MaxPayloadBytes = MaxPayloadBytes + BindingPayloadBytes,
                    KeyPrefix = RedisFixture.UniquePrefix("tiered"),
                },
                Time),
        },
        new TieredSessionStoreOptions { DefaultTier = "client" }.MapKey("cart", "redis"));
}
