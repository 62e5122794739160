using System;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Caching.Distributed;

namespace StateKit.Tests.Distributed;

/// <summary>
/// Puts a real cache that reads the machine's clock (RedisCache and SqliteCache both take <c>DateTimeOffset.UtcNow</c>, with
/// no clock to inject) under a test's fake clock. Deadlines the store computes on its clock are handed to the cache as
/// the same distance from the cache's now; the test's <c>AdvanceAsync</c> then moves the deadlines the cache stored
/// back by the time that passed (see each contract class), which is what time passing would have done.
/// </summary>
/// <remarks>Only absolute deadlines need this; relative ones (sliding expiration) mean the same on either clock.</remarks>
internal sealed class RealClockDistributedCache(IDistributedCache cache, TimeProvider time) : IDistributedCache
{
    public byte[]? Get(string key) => cache.Get(key);

    public Task<byte[]?> GetAsync(string key, CancellationToken token = default) => cache.GetAsync(key, token);

    public void Refresh(string key) => cache.Refresh(key);

    public Task RefreshAsync(string key, CancellationToken token = default) => cache.RefreshAsync(key, token);

    public void Remove(string key) => cache.Remove(key);

    public Task RemoveAsync(string key, CancellationToken token = default) => cache.RemoveAsync(key, token);

    public void Set(string key, byte[] value, DistributedCacheEntryOptions options) => cache.Set(key, value, OnCacheClock(options));

    public Task SetAsync(string key, byte[] value, DistributedCacheEntryOptions options, CancellationToken token = default)
        => cache.SetAsync(key, value, OnCacheClock(options), token);

    private DistributedCacheEntryOptions OnCacheClock(DistributedCacheEntryOptions options) => new()
    {
        AbsoluteExpiration = TimeProvider.System.GetUtcNow() + (options.AbsoluteExpiration - time.GetUtcNow()),
        AbsoluteExpirationRelativeToNow = options.AbsoluteExpirationRelativeToNow,
        SlidingExpiration = options.SlidingExpiration,
    };
}
