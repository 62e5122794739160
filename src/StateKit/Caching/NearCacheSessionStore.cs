using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StateKit.Diagnostics;

namespace StateKit.Caching;

/// <summary>
/// Keeps recently loaded sessions in process memory in front of a server-side store. A hit returns the very
/// <see cref="SessionSnapshot"/> the store produced (values stay bytes; nothing is deserialized again).
/// </summary>
/// <remarks>
/// <para>
/// A node never serves a session older than one committed elsewhere, given one of two seams: an
/// <see cref="ISessionInvalidationBus"/> (every commit publishes id and version; each node drops older entries; after a
/// reconnect the bus flushes everything), which costs nothing per hit; or a store implementing
/// <see cref="ISessionVersionProbe"/>, which costs one small round trip per hit but needs no bus. With neither, entries
/// are served for at most <see cref="NearCacheOptions.TimeToLive"/>.
/// </para>
/// <para>
/// An entry serves hits for at most <see cref="NearCacheOptions.TimeToLive"/>, capped at half the session's idle timeout,
/// because a hit does not reach the store and so does not slide its idle deadline.
/// </para>
/// <para>
/// Lists a user's sessions when the store under it does (<see cref="ISessionLister"/>): a listing always comes from that
/// store, never from the cache. A session ended by public id, or signed out by the store's <c>MaxSessionsPerUser</c>, is
/// dropped here and announced on the bus like any revocation, so no node keeps serving it (see docs/user-sessions.md).
/// </para>
/// </remarks>
public sealed class NearCacheSessionStore : ISessionStore, ISessionLister, IDisposable
{
    private SessionStoreCapabilities? _capabilities;
    private readonly ISessionStore _inner;
    private readonly NearCacheOptions _options;
    private readonly ISessionInvalidationBus? _bus;
    private readonly ISessionVersionProbe? _probe;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IDisposable? _subscription;
    private readonly ConcurrentDictionary<string, Entry> _byTicket = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _ticketById = new(StringComparer.Ordinal);

    // The highest version an invalidation announced per session: a load that raced with it must not cache an older copy.
    private readonly ConcurrentDictionary<string, long> _floor = new(StringComparer.Ordinal);
    private readonly long _ttlTicks;
    private readonly KeyValuePair<string, object?> _storeTag;
    private readonly string _name;
    private long _generation;

    /// <summary>Initializes a new instance of the <see cref="NearCacheSessionStore"/> class.</summary>
    /// <param name="inner">The server-side store.</param>
    /// <param name="options">The cache's settings; validated here.</param>
    /// <param name="bus">The invalidation bus shared by the application's nodes, or <see langword="null"/>.</param>
    /// <param name="probe">A cheap version check, usually the inner store itself, or <see langword="null"/>.</param>
    /// <param name="timeProvider">The clock, or <see langword="null"/> for <see cref="TimeProvider.System"/>.</param>
    /// <param name="logger">A logger, or <see langword="null"/> for none.</param>
    public NearCacheSessionStore(
        ISessionStore inner,
        NearCacheOptions options,
        ISessionInvalidationBus? bus = null,
        ISessionVersionProbe? probe = null,
        TimeProvider? timeProvider = null,
        ILogger<NearCacheSessionStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(options);
        options.ThrowIfInvalid();
        _inner = inner;
        _options = options;
        _bus = bus;
        _probe = probe ?? inner as ISessionVersionProbe;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _name = options.Name ?? "near-cache";
        _storeTag = new(StateKitTelemetry.StoreTag, _name);
        _ttlTicks = (long)(options.TimeToLive.TotalSeconds * _time.TimestampFrequency);
        _subscription = bus?.Subscribe(OnInvalidation);
    }

    /// <inheritdoc />
    /// <remarks>
    /// The inner store's; <see cref="SessionStoreCapabilities.ListsUserSessions"/> only when the inner store is an
    /// <see cref="ISessionLister"/> that says it lists.
    /// </remarks>
    public SessionStoreCapabilities Capabilities => _capabilities ??= _inner.Capabilities with
    {
        ListsUserSessions = _inner.Capabilities.ListsUserSessions && _inner is ISessionLister,
    };

    /// <summary>Gets how many sessions the cache holds.</summary>
    public int Count => _byTicket.Count;

    /// <inheritdoc />
    public ValueTask<SessionSnapshot?> LoadAsync(string ticket, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ticket);
        cancellationToken.ThrowIfCancellationRequested();
        if (_byTicket.TryGetValue(ticket, out var entry))
        {
            var now = _time.GetTimestamp();
            if (now < entry.FreshUntil)
            {
                if (_probe is not null)
                {
                    return ProbedHitAsync(ticket, entry, now, cancellationToken);
                }

                entry.LastUsed = now;
                StateKitTelemetry.NearCacheLookups.Add(1, _storeTag, new(StateKitTelemetry.ResultTag, "hit"));
                return ValueTask.FromResult<SessionSnapshot?>(entry.Snapshot);
            }

            Evict(ticket);
        }

        return MissAsync(ticket, cancellationToken);
    }

    /// <inheritdoc />
    public async ValueTask<SessionCommitResult> CommitAsync(SessionCommit commit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(commit);
        string? id = commit.Base?.Id;
        if (commit.Ticket is not null && _byTicket.TryGetValue(commit.Ticket, out var cached))
        {
            id ??= cached.Snapshot.Id;
        }

        var result = await _inner.CommitAsync(commit, cancellationToken).ConfigureAwait(false);
        if (commit.Ticket is not null)
        {
            Evict(commit.Ticket);
        }

        switch (result.Outcome)
        {
            case SessionCommitOutcome.Committed when result.SessionId is not null:
                if (id is not null && id != result.SessionId)
                {
                    await AnnounceAsync(new SessionInvalidation(id, long.MaxValue), cancellationToken).ConfigureAwait(false);
                }

                await AnnounceAsync(new SessionInvalidation(result.SessionId, result.Version), cancellationToken).ConfigureAwait(false);
                break;
            case SessionCommitOutcome.Deleted when id is not null:
                await AnnounceAsync(new SessionInvalidation(id, long.MaxValue), cancellationToken).ConfigureAwait(false);
                break;
        }

        // A sign-in past MaxSessionsPerUser ended other sessions of the user, which may be cached on any node.
        var signedOut = result.SignedOutSessionIds;
        for (var i = 0; i < signedOut.Count; i++)
        {
            await AnnounceAsync(new SessionInvalidation(signedOut[i], long.MaxValue), cancellationToken).ConfigureAwait(false);
        }

        return result;
    }

    /// <inheritdoc />
    public async ValueTask<bool> RevokeAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        var revoked = await _inner.RevokeAsync(sessionId, cancellationToken).ConfigureAwait(false);
        await AnnounceAsync(new SessionInvalidation(sessionId, long.MaxValue), cancellationToken).ConfigureAwait(false);
        return revoked;
    }

    /// <inheritdoc />
    public async ValueTask<int> RevokeUserAsync(string userId, CancellationToken cancellationToken = default)
    {
        var revoked = await _inner.RevokeUserAsync(userId, cancellationToken).ConfigureAwait(false);

        // Messages name sessions, not users: every node drops everything. Rare enough to be worth the simplicity.
        await AnnounceAsync(SessionInvalidation.All, cancellationToken).ConfigureAwait(false);
        return revoked;
    }

    /// <inheritdoc />
    /// <remarks>Always the inner store's listing: a listing is not cached.</remarks>
    /// <exception cref="NotSupportedException">The inner store does not list (<see cref="Capabilities"/> says so).</exception>
    public ValueTask<UserSessionPage> ListUserSessionsAsync(string userId, string? continuationToken = null, int pageSize = UserSessionPage.DefaultPageSize, CancellationToken cancellationToken = default)
        => Lister.ListUserSessionsAsync(userId, continuationToken, pageSize, cancellationToken);

    /// <inheritdoc />
    /// <remarks>
    /// Ends the session in the inner store, then drops this node's copy and announces the public id and the user on the bus
    /// (<see cref="SessionInvalidation.ForPublicId"/>): the node that ends it may never have loaded it, so it cannot name its id.
    /// </remarks>
    /// <exception cref="NotSupportedException">The inner store does not list (<see cref="Capabilities"/> says so).</exception>
    public async ValueTask<bool> RevokeUserSessionAsync(string userId, string publicId, CancellationToken cancellationToken = default)
    {
        var revoked = await Lister.RevokeUserSessionAsync(userId, publicId, cancellationToken).ConfigureAwait(false);

        // Only after a revocation: a made-up public id must not make every node scan its cache.
        if (revoked)
        {
            await AnnounceAsync(SessionInvalidation.ForPublicId(userId, publicId), cancellationToken).ConfigureAwait(false);
        }

        return revoked;
    }

    /// <summary>Stops listening to the invalidation bus.</summary>
    public void Dispose() => _subscription?.Dispose();

    private ISessionLister Lister => Capabilities.ListsUserSessions
        ? (ISessionLister)_inner
        : throw new NotSupportedException($"The store under the near cache '{_name}' cannot list a user's sessions (its Capabilities.ListsUserSessions is false); the in-memory and Redis stores can.");

    private async ValueTask<SessionSnapshot?> ProbedHitAsync(string ticket, Entry entry, long now, CancellationToken cancellationToken)
    {
        var version = await _probe!.GetVersionAsync(ticket, cancellationToken).ConfigureAwait(false);
        if (version == entry.Snapshot.Version)
        {
            entry.LastUsed = now;
            StateKitTelemetry.NearCacheLookups.Add(1, _storeTag, new(StateKitTelemetry.ResultTag, "hit"));
            return entry.Snapshot;
        }

        Evict(ticket);
        return version is null ? null : await MissAsync(ticket, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask<SessionSnapshot?> MissAsync(string ticket, CancellationToken cancellationToken)
    {
        StateKitTelemetry.NearCacheLookups.Add(1, _storeTag, new(StateKitTelemetry.ResultTag, "miss"));
        var generation = Volatile.Read(ref _generation);
        var snapshot = await _inner.LoadAsync(ticket, cancellationToken).ConfigureAwait(false);
        if (snapshot is null)
        {
            return null;
        }

        var now = _time.GetTimestamp();
        var lifetime = Math.Min(_ttlTicks, (long)(snapshot.IdleTimeout.TotalSeconds / 2 * _time.TimestampFrequency));
        var untilAbsolute = (long)((snapshot.AbsoluteExpiresAt - _time.GetUtcNow()).TotalSeconds * _time.TimestampFrequency);
        var entry = new Entry(snapshot, now + Math.Min(lifetime, untilAbsolute), now);
        if (entry.FreshUntil > now && !(_floor.TryGetValue(snapshot.Id, out var floor) && floor > snapshot.Version))
        {
            _byTicket[ticket] = entry;
            _ticketById[snapshot.Id] = ticket;

            // An invalidation that arrived while loading: drop what was just added if it is older.
            if (Volatile.Read(ref _generation) != generation || (_floor.TryGetValue(snapshot.Id, out floor) && floor > snapshot.Version))
            {
                Evict(ticket);
            }
            else if (_byTicket.Count > _options.MaxEntries)
            {
                Trim();
            }
        }

        return snapshot;
    }

    private async ValueTask AnnounceAsync(SessionInvalidation message, CancellationToken cancellationToken)
    {
        // Locally first: this node must not serve the old copy even if the bus is down.
        OnInvalidation(message);
        if (_bus is null)
        {
            return;
        }

        try
        {
            await _bus.PublishAsync(message, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.InvalidationPublishFailed(_logger, _name, e);
        }
    }

    private void OnInvalidation(SessionInvalidation message)
    {
        StateKitTelemetry.NearCacheInvalidations.Add(1, _storeTag);
        if (message.PublicId is { } publicId)
        {
            DropByPublicId(message.OwnerId!, publicId);
            return;
        }

        if (message.IsAll)
        {
            Interlocked.Increment(ref _generation);
            _byTicket.Clear();
            _ticketById.Clear();
            _floor.Clear();
            Log.NearCacheFlushed(_logger, _name);
            return;
        }

        var id = message.SessionId!;
        _floor.AddOrUpdate(id, message.Version, (_, old) => Math.Max(old, message.Version));
        if (_floor.Count > 2 * _options.MaxEntries)
        {
            // Bounded memory: forgetting floors is safe only if in-flight loads cannot cache, hence the generation bump.
            Interlocked.Increment(ref _generation);
            _floor.Clear();
        }

        if (_ticketById.TryGetValue(id, out var ticket) && _byTicket.TryGetValue(ticket, out var entry) && entry.Snapshot.Version < message.Version)
        {
            Evict(ticket);
        }
    }

    private void DropByPublicId(string userId, string publicId)
    {
        // The id behind the public id is known only from a cached copy: a load in flight, which has none yet, must not
        // cache what it read before the revocation.
        Interlocked.Increment(ref _generation);
        foreach (var (ticket, entry) in _byTicket)
        {
            // Only the user's own copies are hashed: a bound session's snapshot carries its user.
            if (string.Equals(entry.Snapshot.UserId, userId, StringComparison.Ordinal) && entry.Snapshot.ToPublicId() == publicId)
            {
                Evict(ticket);
            }
        }
    }

    private void Evict(string ticket)
    {
        if (_byTicket.TryRemove(ticket, out var entry))
        {
            _ticketById.TryRemove(KeyValuePair.Create(entry.Snapshot.Id, ticket));
        }
    }

    private void Trim()
    {
        foreach (var (ticket, _) in _byTicket.OrderBy(e => e.Value.LastUsed).Take(Math.Max(1, _options.MaxEntries / 10)).ToArray())
        {
            Evict(ticket);
        }
    }

    private sealed class Entry(SessionSnapshot snapshot, long freshUntil, long now)
    {
        public SessionSnapshot Snapshot { get; } = snapshot;

        public long FreshUntil { get; } = freshUntil;

        public long LastUsed { get; set; } = now;
    }
}
