using StateKit.Caching;
using StateKit.Memory;
using StateKit.Testing;

namespace StateKit.Tests.Caching;

/// <summary>Both limit policies through a near cache over the in-memory store.</summary>
public sealed class NearCacheUserSessionLimitTests : UserSessionLimitContract
{
    protected override ISessionStore CreateStore(UserSessionLimitPolicy policy) => new NearCacheSessionStore(
        new InMemorySessionStore(new InMemorySessionStoreOptions { IdleTimeout = IdleTimeout, MaxSessionsPerUser = Limit, SessionLimitPolicy = policy }, Time),
        new NearCacheOptions(),
        new InMemorySessionInvalidationBus(),
        null,
        Time);
}
