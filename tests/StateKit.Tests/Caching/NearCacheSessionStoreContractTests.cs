using StateKit.Caching;
using StateKit.Testing;

namespace StateKit.Tests.Caching;

/// <summary>The shared contract through a near cache over an in-memory store.</summary>
public sealed class NearCacheSessionStoreContractTests : SessionStoreContract
{
    protected override ISessionStore CreateStore() => Decorate(CreateInMemoryStore());

    protected override ISessionStore? DecorateClientHeld(ISessionStore clientHeld) => Decorate(clientHeld);

    private NearCacheSessionStore Decorate(ISessionStore inner) => new(inner, new NearCacheOptions { Name = "contract" }, timeProvider: Time);
}
