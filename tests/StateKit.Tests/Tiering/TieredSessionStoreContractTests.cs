using System.Collections.Generic;
using StateKit.Memory;
using StateKit.Testing;
using StateKit.Tiering;

namespace StateKit.Tests.Tiering;

/// <summary>The shared contract against a session spread over three real tiers: "cart" is critical, "name" is prefs, the rest standard.</summary>
public sealed class TieredSessionStoreContractTests : SessionStoreContract
{
    protected override ISessionStore CreateStore() => new TieredSessionStore(
        new Dictionary<string, ISessionStore>
        {
            ["critical"] = Tier(),
            ["prefs"] = Tier(),
            ["standard"] = Tier(),
        },
        new TieredSessionStoreOptions { DefaultTier = "standard" }.MapKey("cart", "critical").MapKey("name", "prefs"));

    protected override ISessionStore? DecorateClientHeld(ISessionStore clientHeld) => new TieredSessionStore(
        new Dictionary<string, ISessionStore> { ["client"] = clientHeld, ["standard"] = Tier() },
        new TieredSessionStoreOptions { DefaultTier = "client" }.MapKey("cart", "standard"));

    // Each part carries the session's binding (25 bytes) besides the application's keys.
    private InMemorySessionStore Tier() => new(
        new InMemorySessionStoreOptions { IdleTimeout = IdleTimeout, AbsoluteLifetime = AbsoluteLifetime, MaxPayloadBytes = MaxPayloadBytes + TieredSessionStore.BindingPayloadBytes },
        Time);
}
