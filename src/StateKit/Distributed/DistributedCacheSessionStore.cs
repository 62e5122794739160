using System;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StateKit.Diagnostics;
using StateKit.Serialization;

namespace StateKit.Distributed;

/// <summary>
/// Keeps each session as one blob in any <see cref="IDistributedCache"/> (SQL Server, Cosmos DB, NCache, memory...).
/// </summary>
/// <remarks>
/// <para>
/// What the cache cannot do, this store does not pretend to: <see cref="IDistributedCache"/> has no atomic
/// compare-and-set, so concurrent commits of one session are last-writer-wins for the whole blob, and every commit
/// reads the blob before writing it. Idle expiry is the cache's sliding expiration, which a load
/// refreshes; the absolute lifetime is checked on every load, and becomes the entry's expiration once it is nearer than the idle timeout.
/// </para>
/// <para>
/// A revocation is never undone by a racing write. Without compare-and-set a commit that read the session before a
/// revocation writes it back after it, so every deletion (revoke, a commit that revokes or empties the session, the old
/// id of a rotation) first writes a tombstone under its own key, living as long as the session could; a load reads the
/// tombstone with the session (sent together), and a commit checks it after its write and undoes the write when it is
/// there. Cost: one more read per load (concurrent with the first) and one per commit (after the write). Details and
/// every interleaving: docs/distributed.md.
/// </para>
/// <para>Use a server-side store with its own package (Redis) where concurrent requests of one user must not lose updates.</para>
/// </remarks>
public sealed class DistributedCacheSessionStore : ISessionStore
{
    private static readonly byte[] Tombstone = [1];
    private readonly IDistributedCache _cache;
    private readonly DistributedCacheSessionStoreOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    /// <summary>Initializes a new instance of the <see cref="DistributedCacheSessionStore"/> class.</summary>
    /// <param name="cache">The cache that holds the sessions.</param>
    /// <param name="options">The store's settings; validated here.</param>
    /// <param name="timeProvider">The clock, or <see langword="null"/> for <see cref="TimeProvider.System"/>.</param>
    /// <param name="logger">A logger, or <see langword="null"/> for none.</param>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">An option is invalid; the message lists each one.</exception>
    public DistributedCacheSessionStore(
        IDistributedCache cache,
        DistributedCacheSessionStoreOptions options,
        TimeProvider? timeProvider = null,
        ILogger<DistributedCacheSessionStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentNullException.ThrowIfNull(options);
        options.ThrowIfInvalid();
        _cache = cache;
        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        Capabilities = new SessionStoreCapabilities
        {
            Location = StateLocation.Server,
            MaxPayloadBytes = options.MaxPayloadBytes,
            // True of the out-of-process caches this store exists for; not of MemoryDistributedCache.
            SurvivesNodeLoss = true,
            Concurrency = ConcurrencyGuarantee.LastWriterWins,
            Revocation = RevocationSupport.ById,
            SupportsBlindWrites = false,
        };
    }

    /// <inheritdoc />
    public SessionStoreCapabilities Capabilities { get; }

    /// <inheritdoc />
    public async ValueTask<SessionSnapshot?> LoadAsync(string ticket, CancellationToken cancellationToken = default)
    {
        if (!SessionIds.IsWellFormed(ticket))
        {
            Log.TicketRejected(_logger, "malformed");
            return null;
        }

        // The cache's own read slides the idle deadline; the tombstone is read in the same breath (two reads sent together).
        var (stored, revoked) = await ReadWithTombstoneAsync(ticket, cancellationToken).ConfigureAwait(false);
        return revoked || stored is null ? null : WithLastAccess(stored, _time.GetUtcNow());
    }

    /// <inheritdoc />
    public async ValueTask<SessionCommitResult> CommitAsync(SessionCommit commit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(commit);
        if (!commit.NeedsWrite(StateLocation.Server))
        {
            return SessionCommitResult.NoChange;
        }

        var now = _time.GetUtcNow();
        if (commit.Ticket is null)
        {
            var values = SessionPayload.Apply(null, commit);
            if (values.Count == 0)
            {
                return SessionCommitResult.NoChange;
            }

            CheckPayload(values);
            var created = SessionLifecycle.NewSession(SessionIds.NewId(), values, commit, now, _options);
            await WriteAsync(created, cancellationToken).ConfigureAwait(false);
            return SessionCommitResult.Committed(created, created.Id);
        }

        if (!SessionIds.IsWellFormed(commit.Ticket))
        {
            return SessionCommitResult.NotFound;
        }

        if (commit.Revoke)
        {
            await DeleteAsync(commit.Ticket, commit.Base?.AbsoluteExpiresAt, cancellationToken).ConfigureAwait(false);
            return SessionCommitResult.Deleted;
        }

        // No compare-and-set in IDistributedCache: read, merge, write. The version check narrows the race, it cannot close it.
        var current = await ReadAsync(commit.Ticket, cancellationToken).ConfigureAwait(false);
        if (current is null)
        {
            return SessionCommitResult.NotFound;
        }

        if (commit.Mode == SessionCommitMode.RequireBaseVersion && commit.Base is not null && commit.Base.Version != current.Version)
        {
            return SessionCommitResult.Conflict;
        }

        var merged = SessionPayload.Apply(current.Values, commit);
        if (merged.Count == 0)
        {
            await DeleteAsync(commit.Ticket, current.AbsoluteExpiresAt, cancellationToken).ConfigureAwait(false);
            return SessionCommitResult.Deleted;
        }

        CheckPayload(merged);
        var next = SessionLifecycle.NextSession(current, merged, commit, now, SessionIds.NewId);
        await WriteAsync(next, cancellationToken).ConfigureAwait(false);

        // Revoked after our read: the write above may have brought the session back (under its id, or under the new id of
        // a rotation, which nobody holds yet). Take it away again; loads meanwhile saw the tombstone.
        if (await IsRevokedAsync(current.Id, cancellationToken).ConfigureAwait(false))
        {
            await RemoveAsync(next.Id, cancellationToken).ConfigureAwait(false);
            return SessionCommitResult.NotFound;
        }

        if (commit.RotateId)
        {
            // The old id is retired like a revoked one, so that a commit still in flight on it cannot bring it back.
            await DeleteAsync(current.Id, current.AbsoluteExpiresAt, cancellationToken).ConfigureAwait(false);
        }

        return SessionCommitResult.Committed(next, commit.RotateId ? next.Id : null);
    }

    /// <inheritdoc />
    public async ValueTask<bool> RevokeAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sessionId);
        if (!SessionIds.IsWellFormed(sessionId))
        {
            return false;
        }

        var (current, revoked) = await ReadWithTombstoneAsync(sessionId, cancellationToken).ConfigureAwait(false);
        if (revoked)
        {
            return false;
        }

        // Tombstoned even when absent: a commit that read it before it idled out may still be about to write it back.
        await DeleteAsync(sessionId, current?.AbsoluteExpiresAt, cancellationToken).ConfigureAwait(false);
        return current is not null;
    }

    /// <inheritdoc />
    /// <exception cref="NotSupportedException">Always: an <see cref="IDistributedCache"/> cannot list a user's sessions.</exception>
    public ValueTask<int> RevokeUserAsync(string userId, CancellationToken cancellationToken = default)
        => throw new NotSupportedException(
            "DistributedCacheSessionStore cannot revoke by user: IDistributedCache has no way to find a user's sessions. Use a store whose Capabilities.Revocation includes ByUser (in-memory, Redis).");

    private static SessionSnapshot WithLastAccess(SessionSnapshot s, DateTimeOffset now) => new(s.Id, s.Version, s.Values)
    {
        CreatedAt = s.CreatedAt,
        LastAccessedAt = now,
        AbsoluteExpiresAt = s.AbsoluteExpiresAt,
        IdleTimeout = s.IdleTimeout,
        UserId = s.UserId,
    };


    private void CheckPayload(System.Collections.Generic.IReadOnlyDictionary<string, ReadOnlyMemory<byte>> values)
    {
        var size = SessionPayload.Size(values);
        try
        {
            SessionPayloadTooLargeException.ThrowIfOver(size, _options.MaxPayloadBytes);
        }
        catch (SessionPayloadTooLargeException e)
        {
            Log.PayloadTooLarge(_logger, e.Size, e.Limit);
            throw;
        }
    }

    private string Key(string id) => _options.KeyPrefix + id;

    // A session id has no ':', so no tombstone key is ever a session key.
    private string TombstoneKey(string id) => _options.KeyPrefix + "revoked:" + id;

    /// <summary>
    /// Ends a session for good: the tombstone first, living until the session's absolute deadline (or a whole lifetime
    /// when that is unknown), then the blob. After this returns no load returns the session, whatever write races it.
    /// </summary>
    private async ValueTask DeleteAsync(string id, DateTimeOffset? absoluteExpiresAt, CancellationToken cancellationToken)
    {
        var left = absoluteExpiresAt is { } deadline ? deadline - _time.GetUtcNow() : _options.AbsoluteLifetime;
        if (left > TimeSpan.Zero)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                // Relative, so that the cache's clock and ours need not agree on the time, only on its rate.
                await _cache.SetAsync(TombstoneKey(id), Tombstone, new DistributedCacheEntryOptions { AbsoluteExpirationRelativeToNow = left }, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                throw Unavailable("revoke", e);
            }
        }

        await RemoveAsync(id, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads the session and its tombstone, the two reads sent together.</summary>
    private async ValueTask<(SessionSnapshot? Session, bool Revoked)> ReadWithTombstoneAsync(string id, CancellationToken cancellationToken)
    {
        var revoked = IsRevokedAsync(id, cancellationToken);
        SessionSnapshot? stored;
        try
        {
            stored = await ReadAsync(id, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // Its outcome no longer matters; observe it so that a failure there is not reported as unobserved.
            _ = revoked.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            throw;
        }

        return (stored, await revoked.ConfigureAwait(false));
    }

    private async Task<bool> IsRevokedAsync(string id, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            return await _cache.GetAsync(TombstoneKey(id), cancellationToken).ConfigureAwait(false) is not null;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw Unavailable("load", e);
        }
    }

    private async ValueTask<SessionSnapshot?> ReadAsync(string id, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        byte[]? data;
        try
        {
            data = await _cache.GetAsync(Key(id), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw Unavailable("load", e);
        }

        if (data is null)
        {
            return null;
        }

        // A payload that does not parse, or that names another session, is never trusted.
        if (!SessionPayloadFormat.TryRead(data, out var session) || session!.Id != id)
        {
            Log.CorruptPayload(_logger);
            return null;
        }

        return _time.GetUtcNow() >= session.AbsoluteExpiresAt ? null : session;
    }

    private async ValueTask WriteAsync(SessionSnapshot session, CancellationToken cancellationToken)
    {
        // One deadline per entry, never both: some caches read "absolute and sliding" as "absolute, then sliding from there"
        // (NeoSmart's SQLite cache kept an entry nobody read until absolute + idle, so an idle session came back). The
        // sliding window while the absolute lifetime is further than one idle timeout away, the absolute deadline once it
        // is nearer; the absolute lifetime is also checked on every load.
        var entryOptions = session.AbsoluteExpiresAt - _time.GetUtcNow() > session.IdleTimeout
            ? new DistributedCacheEntryOptions { SlidingExpiration = session.IdleTimeout }
            : new DistributedCacheEntryOptions { AbsoluteExpiration = session.AbsoluteExpiresAt };
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            await _cache.SetAsync(Key(session.Id), SessionPayloadFormat.Write(session), entryOptions, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw Unavailable("commit", e);
        }
    }

    private async ValueTask RemoveAsync(string id, CancellationToken cancellationToken)
    {
        try
        {
            await _cache.RemoveAsync(Key(id), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw Unavailable("revoke", e);
        }
    }

    private SessionStoreUnavailableException Unavailable(string operation, Exception e)
    {
        Log.BackendFailed(_logger, operation, e);
        return new SessionStoreUnavailableException($"The distributed cache failed during {operation}: {e.Message}", e);
    }
}
