using StateKit.Caching;
using StateKit.Memory;
using StateKit.Testing;

namespace StateKit.Tests.Caching;

/// <summary>The shared contract through a near cache over an in-memory store.</summary>
public sealed class NearCacheSessionStoreContractTests : SessionStoreContract
{
    protected override ISessionStore CreateStore() => Decorate(new InMemorySessionStore(
        new InMemorySessionStoreOptions { IdleTimeout = IdleTimeout, AbsoluteLifetime = AbsoluteLifetime, MaxPayloadBytes = MaxPayloadBytes },
        Time));

    protected override ISessionStore? DecorateClientHeld(ISessionStore clientHeld) => Decorate(clientHeld);

    private NearCacheSessionStore Decorate(ISessionStore inner) => new(inner, new NearCacheOptions { Name = "contract" }, timeProvider: Time);
}
