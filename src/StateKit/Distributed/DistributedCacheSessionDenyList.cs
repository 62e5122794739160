using System;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Caching.Distributed;

namespace StateKit.Distributed;

/// <summary>
/// Keeps revoked session ids in any <see cref="IDistributedCache"/> (Redis, SQL Server, memory...), each entry expiring
/// when the tickets it denies would. Use it as the deny list of a client-held store.
/// </summary>
/// <remarks>
/// Why not over an <see cref="ISessionStore"/>: a session store mints its own ids and hands them out as tickets, so it cannot
/// look up an entry by a key we choose; a cache can. Checking a ticket costs one cache read per load and commit.
/// </remarks>
public sealed class DistributedCacheSessionDenyList : ISessionDenyList
{
    private static readonly byte[] Marker = [1];
    private readonly IDistributedCache _cache;
    private readonly string _keyPrefix;

    /// <summary>Initializes a new instance of the <see cref="DistributedCacheSessionDenyList"/> class.</summary>
    /// <param name="cache">The cache that holds the entries; an out-of-process one, so that every node sees a revocation.</param>
    /// <param name="keyPrefix">Prepended to each session id to form the cache key.</param>
    public DistributedCacheSessionDenyList(IDistributedCache cache, string keyPrefix = StateKitDefaults.DenyListKeyPrefix)
    {
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentNullException.ThrowIfNull(keyPrefix);
        _cache = cache;
        _keyPrefix = keyPrefix;
    }

    /// <inheritdoc />
    public async ValueTask<bool> DenyAsync(string sessionId, DateTimeOffset until, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(sessionId);
        cancellationToken.ThrowIfCancellationRequested();
        var key = _keyPrefix + sessionId;
        try
        {
            // Read first only to answer "was it new"; the write is what matters, and it is idempotent.
            var existed = await _cache.GetAsync(key, cancellationToken).ConfigureAwait(false) is not null;
            await _cache.SetAsync(key, Marker, new DistributedCacheEntryOptions { AbsoluteExpiration = until }, cancellationToken).ConfigureAwait(false);
            return !existed;
        }
        catch (Exception e) when (e is not OperationCanceledException and not ArgumentException)
        {
            throw new SessionStoreUnavailableException($"The deny list's cache failed during deny: {e.Message}", e);
        }
    }

    /// <inheritdoc />
    public async ValueTask<bool> IsDeniedAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(sessionId);
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            return await _cache.GetAsync(_keyPrefix + sessionId, cancellationToken).ConfigureAwait(false) is not null;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new SessionStoreUnavailableException($"The deny list's cache failed during a check: {e.Message}", e);
        }
    }
}
