using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using StateKit.Distributed;
using StateKit.Testing;

namespace StateKit.Tests.Distributed;

public sealed class DistributedCacheSessionStoreContractTests : SessionStoreContract
{
    protected override ISessionStore CreateStore() => new DistributedCacheSessionStore(
        new MemoryDistributedCache(Options.Create(new MemoryDistributedCacheOptions { Clock = new FakeTimeSystemClock(Time) })),
        new DistributedCacheSessionStoreOptions
        {
            IdleTimeout = IdleTimeout,
            AbsoluteLifetime = AbsoluteLifetime,
            MaxPayloadBytes = MaxPayloadBytes,
        },
        Time);
}
