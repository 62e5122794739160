using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StateKit.Diagnostics;

namespace StateKit.Memory;

/// <summary>
/// Keeps sessions in this process's memory: the fastest store there is, bounded in sessions and bytes with
/// least-recently-used eviction, versioned with compare-and-set. State does not survive the process.
/// </summary>
/// <remarks>
/// Expiry needs no timer per session: an expired session is dropped when it is next touched, and because idle
/// deadlines follow last access, expired sessions gather at the cold end of the LRU list, where every write trims them.
/// </remarks>
public sealed class InMemorySessionStore : ISessionStore
{
    internal const string Kind = "memory";

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _sessionsByUser = new(StringComparer.Ordinal);
    private readonly InMemorySessionStoreOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly KeyValuePair<string, object?> _storeTag;

    // Doubly linked LRU list threaded through the entries: _hot was used last, _cold longest ago.
    private Entry? _hot;
    private Entry? _cold;
    private long _bytes;

    /// <summary>Initializes a new instance of the <see cref="InMemorySessionStore"/> class.</summary>
    /// <param name="options">The store's settings; validated here.</param>
    /// <param name="timeProvider">The clock, or <see langword="null"/> for <see cref="TimeProvider.System"/>.</param>
    /// <param name="logger">A logger, or <see langword="null"/> for none.</param>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">An option is invalid; the message lists each one.</exception>
    public InMemorySessionStore(InMemorySessionStoreOptions options, TimeProvider? timeProvider = null, ILogger<InMemorySessionStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.ThrowIfInvalid();
        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _storeTag = new(StateKitTelemetry.StoreTag, options.Name ?? Kind);
        Capabilities = new SessionStoreCapabilities
        {
            Location = StateLocation.Process,
            MaxPayloadBytes = options.MaxPayloadBytes,
            SurvivesNodeLoss = false,
            Concurrency = ConcurrencyGuarantee.CompareAndSet,
            Revocation = RevocationSupport.ById | RevocationSupport.ByUser,
            SupportsBlindWrites = true,
        };
    }

    /// <inheritdoc />
    public SessionStoreCapabilities Capabilities { get; }

    /// <summary>Gets how many sessions the store holds, expired ones not yet trimmed included.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>Gets how many bytes the store charges against <see cref="InMemorySessionStoreOptions.MaxBytes"/>.</summary>
    public long Bytes
    {
        get
        {
            lock (_gate)
            {
                return _bytes;
            }
        }
    }

    /// <inheritdoc />
    public ValueTask<SessionSnapshot?> LoadAsync(string ticket, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (!SessionIds.IsWellFormed(ticket))
        {
            Log.TicketRejected(_logger, "malformed");
            return ValueTask.FromResult<SessionSnapshot?>(null);
        }

        return ValueTask.FromResult(Load(ticket, ticketProof: null));
    }

    /// <summary>
    /// Loads a live session by a well-formed id, sliding its idle deadline, and hands the caller's proof that it verified
    /// the ticket along on the snapshot (the sticky store's, so that its commit does not verify the same ticket again).
    /// </summary>
    internal SessionSnapshot? Load(string id, object? ticketProof)
    {
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            if (!TryGetLive(id, now, out var entry))
            {
                return null;
            }

            entry.LastAccessedAt = now;
            Touch(entry);
            return ToSnapshot(entry, ticketProof);
        }
    }

    /// <inheritdoc />
    public ValueTask<SessionCommitResult> CommitAsync(SessionCommit commit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(commit);
        cancellationToken.ThrowIfCancellationRequested();
        if (!commit.HasChanges)
        {
            return ValueTask.FromResult(SessionCommitResult.NoChange);
        }

        if (commit.Ticket is null)
        {
            return ValueTask.FromResult(Create(commit, _time.GetUtcNow()));
        }

        return ValueTask.FromResult(Commit(commit, commit.Ticket, commit.RotateId));
    }

    /// <summary>
    /// Commits to the session <paramref name="id"/>, moving it to a new id when <paramref name="rotateId"/>, whatever
    /// <paramref name="commit"/>'s own ticket and rotation say: the sticky store commits under the id its ticket names
    /// without copying the commit.
    /// </summary>
    internal SessionCommitResult Commit(SessionCommit commit, string id, bool rotateId)
    {
        var now = _time.GetUtcNow();

        // The request that loaded the session carries this store's entry in its base snapshot: skip the id check and
        // the lookup when it is still the live entry under the committed ticket.
        var known = commit.Base?.StoreEntry as Entry;
        if (known?.Owner != this)
        {
            known = null;
            if (!SessionIds.IsWellFormed(id))
            {
                return SessionCommitResult.NotFound;
            }
        }

        lock (_gate)
        {
            Entry entry;
            if (known is not null && known.IsLive && string.Equals(known.Id, id, StringComparison.Ordinal))
            {
                entry = known;
                if (entry.IsExpired(now))
                {
                    Remove(entry);
                    return SessionCommitResult.NotFound;
                }
            }
            else if (!(known is null || SessionIds.IsWellFormed(id)) || !TryGetLive(id, now, out entry))
            {
                return SessionCommitResult.NotFound;
            }

            if (commit.Revoke)
            {
                Remove(entry);
                return SessionCommitResult.Deleted;
            }

            if (commit.Mode == SessionCommitMode.RequireBaseVersion && commit.Base is not null && commit.Base.Version != entry.Version)
            {
                return SessionCommitResult.Conflict;
            }

            // Copy-on-write: a snapshot handed out keeps the values it saw.
            var values = PackedValues.Apply(entry.Values, commit);
            if (values.Count == 0)
            {
                Remove(entry);
                return SessionCommitResult.Deleted;
            }

            var payload = values.PayloadBytes;
            CheckPayload(payload);

            entry.Values = values;
            entry.Version++;
            entry.LastAccessedAt = now;
            ChargeBytes(entry, payload);
            if (commit.BindUserId is not null)
            {
                BindUser(entry, commit.BindUserId);
            }

            string? newTicket = null;
            if (rotateId)
            {
                UnbindUser(entry);
                _entries.Remove(entry.Id);
                entry.Id = SessionIds.NewId();
                _entries.Add(entry.Id, entry);
                RebindUser(entry);
                newTicket = entry.Id;
            }

            Touch(entry);
            TrimToBounds(now, keep: entry);
            return Committed(entry, newTicket);
        }
    }

    /// <inheritdoc />
    public ValueTask<bool> RevokeAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sessionId);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            if (!TryGetLive(sessionId, _time.GetUtcNow(), out var entry))
            {
                return ValueTask.FromResult(false);
            }

            Remove(entry);
            return ValueTask.FromResult(true);
        }
    }

    /// <inheritdoc />
    public ValueTask<int> RevokeUserAsync(string userId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userId);
        cancellationToken.ThrowIfCancellationRequested();
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            if (!_sessionsByUser.TryGetValue(userId, out var ids))
            {
                return ValueTask.FromResult(0);
            }

            var revoked = 0;
            foreach (var id in new List<string>(ids))
            {
                if (_entries.TryGetValue(id, out var entry))
                {
                    revoked += entry.IsExpired(now) ? 0 : 1;
                    Remove(entry);
                }
            }

            return ValueTask.FromResult(revoked);
        }
    }

    /// <summary>
    /// Puts a whole session under the id it already has elsewhere (the sticky store's rehydration from a backup),
    /// replacing any copy held here. The bounds apply as to any write.
    /// </summary>
    internal SessionSnapshot Import(SessionSnapshot session)
    {
        var now = _time.GetUtcNow();
        var values = PackedValues.From(session.Values);
        var payload = values.PayloadBytes;
        CheckPayload(payload);
        var entry = new Entry(this, session.Id, values, session.CreatedAt, session.AbsoluteExpiresAt, _options.IdleTimeout)
        {
            Version = session.Version,
            LastAccessedAt = now,
        };
        lock (_gate)
        {
            if (_entries.TryGetValue(session.Id, out var existing))
            {
                Remove(existing);
            }

            _entries.Add(entry.Id, entry);
            ChargeBytes(entry, payload);
            if (session.UserId is not null)
            {
                BindUser(entry, session.UserId);
            }

            Touch(entry);
            TrimToBounds(now, keep: entry);
            return ToSnapshot(entry);
        }
    }

    /// <summary>Reads a live session without touching it: no sliding, no change to its place in the LRU order.</summary>
    internal SessionSnapshot? Peek(string id)
    {
        lock (_gate)
        {
            return _entries.TryGetValue(id, out var entry) && !entry.IsExpired(_time.GetUtcNow()) ? ToSnapshot(entry) : null;
        }
    }

    /// <summary>Every live session, most recently used first: what a drain flushes.</summary>
    internal List<SessionSnapshot> LiveSessions()
    {
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            var live = new List<SessionSnapshot>(_entries.Count);
            for (var entry = _hot; entry is not null; entry = entry.Colder)
            {
                if (!entry.IsExpired(now))
                {
                    live.Add(ToSnapshot(entry));
                }
            }

            return live;
        }
    }

    /// <summary>The ids of the live sessions bound to a user.</summary>
    internal List<string> SessionIdsOf(string userId)
    {
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            var ids = new List<string>();
            if (_sessionsByUser.TryGetValue(userId, out var set))
            {
                foreach (var id in set)
                {
                    if (_entries.TryGetValue(id, out var entry) && !entry.IsExpired(now))
                    {
                        ids.Add(id);
                    }
                }
            }

            return ids;
        }
    }

    private SessionCommitResult Create(SessionCommit commit, DateTimeOffset now)
    {
        var values = PackedValues.Apply(null, commit);
        if (values.Count == 0)
        {
            return SessionCommitResult.NoChange;
        }

        var payload = values.PayloadBytes;
        CheckPayload(payload);
        var entry = new Entry(this, SessionIds.NewId(), values, now, now + _options.AbsoluteLifetime, _options.IdleTimeout);
        lock (_gate)
        {
            _entries.Add(entry.Id, entry);
            ChargeBytes(entry, payload);
            if (commit.BindUserId is not null)
            {
                BindUser(entry, commit.BindUserId);
            }

            Touch(entry);
            TrimToBounds(now, keep: entry);
            return Committed(entry, entry.Id);
        }
    }

    private static SessionCommitResult Committed(Entry entry, string? newTicket) => new()
    {
        Outcome = SessionCommitOutcome.Committed,
        Ticket = newTicket,
        SessionId = entry.Id,
        Version = entry.Version,
        ExpiresAt = entry.ExpiresAt,
        AbsoluteExpiresAt = entry.AbsoluteExpiresAt,
    };

    private void CheckPayload(long payload)
    {
        try
        {
            SessionPayloadTooLargeException.ThrowIfOver(payload, _options.MaxPayloadBytes);
        }
        catch (SessionPayloadTooLargeException e)
        {
            Log.PayloadTooLarge(_logger, e.Size, e.Limit);
            throw;
        }
    }

    private bool TryGetLive(string id, DateTimeOffset now, out Entry entry)
    {
        if (!_entries.TryGetValue(id, out entry!))
        {
            return false;
        }

        if (entry.IsExpired(now))
        {
            Remove(entry);
            return false;
        }

        return true;
    }

    private void ChargeBytes(Entry entry, long payload)
    {
        var charge = payload + StateKitDefaults.InMemoryEntryOverheadBytes;
        _bytes += charge - entry.Charge;
        entry.Charge = charge;
    }

    private void BindUser(Entry entry, string userId)
    {
        if (entry.UserId == userId)
        {
            return;
        }

        UnbindUser(entry);
        entry.UserId = userId;
        RebindUser(entry);
    }

    private void RebindUser(Entry entry)
    {
        if (entry.UserId is null)
        {
            return;
        }

        if (!_sessionsByUser.TryGetValue(entry.UserId, out var ids))
        {
            _sessionsByUser[entry.UserId] = ids = new HashSet<string>(StringComparer.Ordinal);
        }

        ids.Add(entry.Id);
    }

    private void UnbindUser(Entry entry)
    {
        if (entry.UserId is not null && _sessionsByUser.TryGetValue(entry.UserId, out var ids))
        {
            ids.Remove(entry.Id);
            if (ids.Count == 0)
            {
                _sessionsByUser.Remove(entry.UserId);
            }
        }
    }

    private void Remove(Entry entry)
    {
        entry.IsLive = false;
        _entries.Remove(entry.Id);
        UnbindUser(entry);
        Unlink(entry);
        _bytes -= entry.Charge;
    }

    private void TrimToBounds(DateTimeOffset now, Entry keep)
    {
        // Expired sessions gather at the cold end: trimming them is amortized O(1) per write.
        while (_cold is not null && _cold != keep && _cold.IsExpired(now))
        {
            Remove(_cold);
        }

        while (_cold is not null && _cold != keep && (_entries.Count > _options.MaxSessions || _bytes > _options.MaxBytes))
        {
            var bound = _entries.Count > _options.MaxSessions ? "MaxSessions" : "MaxBytes";
            Remove(_cold);
            StateKitTelemetry.Evictions.Add(1, _storeTag);
            Log.SessionEvicted(_logger, bound);
        }
    }

    private void Touch(Entry entry)
    {
        if (_hot == entry)
        {
            return;
        }

        Unlink(entry);
        entry.Colder = _hot;
        if (_hot is not null)
        {
            _hot.Hotter = entry;
        }

        _hot = entry;
        _cold ??= entry;
    }

    private void Unlink(Entry entry)
    {
        if (entry.Hotter is not null)
        {
            entry.Hotter.Colder = entry.Colder;
        }
        else if (_hot == entry)
        {
            _hot = entry.Colder;
        }

        if (entry.Colder is not null)
        {
            entry.Colder.Hotter = entry.Hotter;
        }
        else if (_cold == entry)
        {
            _cold = entry.Hotter;
        }

        entry.Hotter = entry.Colder = null;
    }

    private static SessionSnapshot ToSnapshot(Entry entry, object? ticketProof = null) => new(entry.Id, entry.Version, entry.Values)
    {
        TicketProof = ticketProof,
        CreatedAt = entry.CreatedAt,
        LastAccessedAt = entry.LastAccessedAt,
        AbsoluteExpiresAt = entry.AbsoluteExpiresAt,
        IdleTimeout = entry.IdleTimeout,
        UserId = entry.UserId,
        StoreEntry = entry,
    };

    private sealed class Entry(InMemorySessionStore owner, string id, PackedValues values, DateTimeOffset now, DateTimeOffset absoluteExpiresAt, TimeSpan idleTimeout)
    {
        public InMemorySessionStore Owner { get; } = owner;

        /// <summary>Gets or sets a value indicating whether the entry is in the store; only read and written under the store's lock.</summary>
        public bool IsLive { get; set; } = true;

        public string Id { get; set; } = id;

        public PackedValues Values { get; set; } = values;

        public long Version { get; set; } = 1;

        public DateTimeOffset CreatedAt { get; } = now;

        public DateTimeOffset LastAccessedAt { get; set; } = now;

        public DateTimeOffset AbsoluteExpiresAt { get; } = absoluteExpiresAt;

        public TimeSpan IdleTimeout { get; } = idleTimeout;

        public string? UserId { get; set; }

        public long Charge { get; set; }

        public Entry? Hotter { get; set; }

        public Entry? Colder { get; set; }

        public DateTimeOffset ExpiresAt
        {
            get
            {
                var idle = LastAccessedAt + IdleTimeout;
                return idle < AbsoluteExpiresAt ? idle : AbsoluteExpiresAt;
            }
        }

        public bool IsExpired(DateTimeOffset now) => now >= ExpiresAt;
    }
}
