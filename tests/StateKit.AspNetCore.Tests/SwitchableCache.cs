using System;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace StateKit.AspNetCore.Tests;

/// <summary>A real memory cache with a switch that makes it fail like a dead backend (fault injection, not a mock of the store).</summary>
internal sealed class SwitchableCache : IDistributedCache
{
    private readonly MemoryDistributedCache _inner = new(Options.Create(new MemoryDistributedCacheOptions()));

    public bool Down { get; set; }

    public byte[]? Get(string key) => Check() ? null : _inner.Get(key);

    public Task<byte[]?> GetAsync(string key, CancellationToken token = default) => Check() ? Task.FromResult<byte[]?>(null) : _inner.GetAsync(key, token);

    public void Refresh(string key) => _inner.Refresh(key);

    public Task RefreshAsync(string key, CancellationToken token = default) => _inner.RefreshAsync(key, token);

    public void Remove(string key) => _inner.Remove(key);

    public Task RemoveAsync(string key, CancellationToken token = default) => Check() ? Task.CompletedTask : _inner.RemoveAsync(key, token);

    public void Set(string key, byte[] value, DistributedCacheEntryOptions options) => _inner.Set(key, value, options);

    public Task SetAsync(string key, byte[] value, DistributedCacheEntryOptions options, CancellationToken token = default) => Check() ? Task.CompletedTask : _inner.SetAsync(key, value, options, token);

    private bool Check() => Down ? throw new TimeoutException("cache down") : false;
}
