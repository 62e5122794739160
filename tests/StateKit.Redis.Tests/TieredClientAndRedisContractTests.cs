using System.Collections.Generic;
using StateKit.Redis.Tests.Servers;
using StateKit.Redis.Testing;
using StateKit.Testing;
using StateKit.Tiering;

namespace StateKit.Redis.Tests;

/// <summary>
/// The shared contract through a tiered store whose tiers are a client-held one (sealed tickets: "name" and every key
/// not mapped) and Redis ("cart"): the composite ticket, and every field of a commit, must reach both.
/// </summary>
public sealed class TieredClientAndRedisContractTests(RedisFixture redis) : SessionStoreContract, IClassFixture<RedisFixture>
{
    protected override ISessionStore CreateStore() => Tiered(CreateClientHeldStore());

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
                    MaxPayloadBytes = MaxPayloadBytes,
                    KeyPrefix = RedisFixture.UniquePrefix("tiered"),
                },
                Time),
        },
        new TieredSessionStoreOptions { DefaultTier = "client" }.MapKey("cart", "redis"));
}
