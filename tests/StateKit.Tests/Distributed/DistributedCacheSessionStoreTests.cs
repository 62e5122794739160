using System;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using StateKit.Distributed;
using StateKit.Testing;

namespace StateKit.Tests.Distributed;

public sealed class DistributedCacheSessionStoreTests
{
    private readonly MemoryDistributedCache _cache = new(Options.Create(new MemoryDistributedCacheOptions()));

    [Fact]
    public async Task Commit_CacheDown_ThrowsTypedErrorAndTheRequestKeepsItsChanges()
    {
        var faulty = new FaultyDistributedCache(_cache);
        var store = new DistributedCacheSessionStore(faulty, new DistributedCacheSessionStoreOptions());
        var session = store.Open(null);
        session.Set("cart", 3, ContractJsonContext.Default.Int32);
        faulty.Down = true;

        var error = await Assert.ThrowsAsync<SessionStoreUnavailableException>(async () => await session.CommitAsync());

        Assert.IsType<TimeoutException>(error.InnerException);
        Assert.True(session.HasChanges);
        faulty.Down = false;
        var result = await session.CommitAsync();
        Assert.Equal(SessionCommitOutcome.Committed, result.Outcome);
        Assert.Equal(3, await store.Open(result.Ticket).GetAsync("cart", ContractJsonContext.Default.Int32));
    }

    [Fact]
    public async Task Load_CacheDown_ThrowsTypedErrorRatherThanNoSession()
    {
        var faulty = new FaultyDistributedCache(_cache) { Down = true };
        var store = new DistributedCacheSessionStore(faulty, new DistributedCacheSessionStoreOptions());

        // "No session" would sign the user out silently; a dead backend must be told apart.
        await Assert.ThrowsAsync<SessionStoreUnavailableException>(async () => await store.LoadAsync("AAAAAAAAAAAAAAAAAAAAAA"));
    }

    [Fact]
    public async Task Load_CorruptOrForeignBlob_IsNoSession()
    {
        var store = new DistributedCacheSessionStore(_cache, new DistributedCacheSessionStoreOptions());
        var session = store.Open(null);
        session.Set("n", 1, ContractJsonContext.Default.Int32);
        var a = (await session.CommitAsync()).Ticket!;
        var other = store.Open(null);
        other.Set("n", 2, ContractJsonContext.Default.Int32);
        var b = (await other.CommitAsync()).Ticket!;

        // Someone with write access to the cache copies b's blob under a's key.
        await _cache.SetAsync("statekit:" + a, (await _cache.GetAsync("statekit:" + b))!);
        Assert.Null(await store.LoadAsync(a));

        await _cache.SetAsync("statekit:" + b, [1, 2, 3]);
        Assert.Null(await store.LoadAsync(b));
    }

    [Fact]
    public async Task KeyPrefix_SeparatesApplicationsSharingOneCache()
    {
        var shop = new DistributedCacheSessionStore(_cache, new DistributedCacheSessionStoreOptions { KeyPrefix = "shop:" });
        var blog = new DistributedCacheSessionStore(_cache, new DistributedCacheSessionStoreOptions { KeyPrefix = "blog:" });
        var session = shop.Open(null);
        session.Set("n", 1, ContractJsonContext.Default.Int32);
        var ticket = (await session.CommitAsync()).Ticket!;

        Assert.NotNull(await _cache.GetAsync("shop:" + ticket));
        Assert.Null(await blog.LoadAsync(ticket));
    }

    [Fact]
    public void Capabilities_AreHonestAboutWhatIDistributedCacheCannotDo()
    {
        var store = new DistributedCacheSessionStore(_cache, new DistributedCacheSessionStoreOptions());

        Assert.Equal(ConcurrencyGuarantee.LastWriterWins, store.Capabilities.Concurrency);
        Assert.Equal(RevocationSupport.ById, store.Capabilities.Revocation);
        Assert.False(store.Capabilities.SupportsBlindWrites);
    }

    /// <summary>Injects a dead backend into a real cache.</summary>
    private sealed class FaultyDistributedCache(IDistributedCache inner) : IDistributedCache
    {
        public bool Down { get; set; }

        public byte[]? Get(string key) => Check() ?? inner.Get(key);

        public Task<byte[]?> GetAsync(string key, CancellationToken token = default) => Down ? Task.FromException<byte[]?>(new TimeoutException("cache down")) : inner.GetAsync(key, token);

        public void Refresh(string key) => inner.Refresh(key);

        public Task RefreshAsync(string key, CancellationToken token = default) => Down ? Task.FromException(new TimeoutException("cache down")) : inner.RefreshAsync(key, token);

        public void Remove(string key) => inner.Remove(key);

        public Task RemoveAsync(string key, CancellationToken token = default) => Down ? Task.FromException(new TimeoutException("cache down")) : inner.RemoveAsync(key, token);

        public void Set(string key, byte[] value, DistributedCacheEntryOptions options) => inner.Set(key, value, options);

        public Task SetAsync(string key, byte[] value, DistributedCacheEntryOptions options, CancellationToken token = default) => Down ? Task.FromException(new TimeoutException("cache down")) : inner.SetAsync(key, value, options, token);

        private byte[]? Check() => Down ? throw new TimeoutException("cache down") : null;
    }
}
