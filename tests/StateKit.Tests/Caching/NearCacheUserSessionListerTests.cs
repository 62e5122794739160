using System;
using System.Threading.Tasks;
using StateKit.Caching;
using StateKit.Memory;
using StateKit.Testing;

namespace StateKit.Tests.Caching;

/// <summary>The listing contract through a near cache over the in-memory store.</summary>
public sealed class NearCacheUserSessionListerTests : UserSessionListerContract, IDisposable
{
    private InMemorySessionStore? _inner;

    public void Dispose() => (Store as IDisposable)?.Dispose();

    protected override ISessionStore CreateStore()
    {
        _inner = new InMemorySessionStore(new InMemorySessionStoreOptions { IdleTimeout = IdleTimeout, AbsoluteLifetime = AbsoluteLifetime }, Time);
        return new NearCacheSessionStore(_inner, new NearCacheOptions(), new InMemorySessionInvalidationBus(), null, Time);
    }

    protected override Task<int> IndexedCountAsync(string userId) => Task.FromResult(_inner!.IndexedCountOf(userId));
}
