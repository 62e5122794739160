using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace StateKit.Tests.Distributed;

/// <summary>The races of <see cref="DistributedCacheRaceContract"/> over <see cref="MemoryDistributedCache"/>.</summary>
public sealed class DistributedCacheSessionStoreRaceTests : DistributedCacheRaceContract
{
    protected override IDistributedCache CreateBackend()
        => new MemoryDistributedCache(Options.Create(new MemoryDistributedCacheOptions { Clock = new FakeTimeSystemClock(Time) }));
}
