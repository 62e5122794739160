using System;
using System.Collections.Generic;
using System.Threading;
using Microsoft.Extensions.Logging;
using StateKit.Diagnostics;
using StateKit.Events;

namespace StateKit.Memory;

/// <summary>
/// The sessions a process holds: entries by id, bounded in sessions and bytes with least-recently-used eviction that
/// spares user-bound sessions (see remarks), versioned with compare-and-set, indexed by user. The in-memory store is this table behind <see cref="ISessionStore"/>;
/// the sticky store keeps its node's sessions in one too, and adds tickets and a backup around it.
/// </summary>
/// <remarks>
/// Expiry needs no timer per session: an expired session is dropped when it is next touched, and because idle
/// deadlines follow last access, expired sessions gather at the cold end of the LRU lists, where every write trims them.
/// Ids are not checked for form here: callers check what clients sent.
/// <para>
/// Eviction keeps two LRU lists, anonymous sessions and sessions bound to a user, and evicts the least recently used
/// anonymous session first; a user-bound session is evicted only when no other anonymous session is left. Anyone can
/// open anonymous sessions as fast as they can send requests, so under plain LRU a flood of them signs every user out;
/// here it only churns the anonymous sessions (and takes at most one slot from users when they fill the table).
/// </para>
/// </remarks>
internal sealed class SessionTable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, SessionTableEntry> _entries = new(StringComparer.Ordinal);
    private readonly SessionUserIndex _users = new();
    private readonly SessionLruList _anonymous = new();
    private readonly SessionLruList _bound = new();
    private readonly InMemorySessionStoreOptions _options;
    private readonly SessionClock _clock;
    private readonly ILogger _logger;
    private readonly KeyValuePair<string, object?> _storeTag;
    private long _bytes;

    // Counts removals by id or by user (revocations), so that a take-over that read a copy before one can tell.
    private long _removals;

    // Counts the ends of user sessions (all of a user's, or one by public id) per stripe of user ids, so that a sticky
    // sign-in can tell whether one of its user's sessions was ended while its own copy was not yet here to be removed.
    private readonly long[] _userEnds = new long[UserEndStripes];
    private const int UserEndStripes = 64;

    /// <summary>Initializes a new instance of the <see cref="SessionTable"/> class.</summary>
    /// <param name="options">The bounds, deadlines and payload limit; already validated.</param>
    /// <param name="storeName">The store tag of the eviction counter.</param>
    /// <param name="time">The clock.</param>
    /// <param name="logger">Where evictions and refused payloads are logged.</param>
    public SessionTable(InMemorySessionStoreOptions options, string storeName, TimeProvider time, ILogger logger)
    {
        _options = options;
        _clock = new SessionClock(time);
        _logger = logger;
        _storeTag = new(StateKitTelemetry.StoreTag, storeName);
    }

    /// <summary>
    /// Gets or sets where the table raises what only it sees: expiry (when a lookup, a write's trim or <see cref="SweepExpired"/>
    /// meets an expired entry), eviction, and the sessions a revocation by user removed. <see langword="null"/> (nobody
    /// subscribed) costs nothing. Set once, before the table is shared.
    /// </summary>
    public SessionEventSink? Events { get; set; }

    /// <summary>Gets how many sessions the table holds, expired ones not yet trimmed included.</summary>
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

    /// <summary>Gets how many bytes the table charges against <see cref="InMemorySessionStoreOptions.MaxBytes"/>.</summary>
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

    /// <summary>
    /// Loads a live session, sliding its idle deadline. The snapshot carries the table's entry, so that a commit based on
    /// it finds the session without a lookup, and <paramref name="ticketProof"/>: the caller's proof that it verified the
    /// ticket (the sticky store's, so that its commit does not verify the same ticket again).
    /// </summary>
    public SessionSnapshot? Load(string id, TicketProof? ticketProof = null)
    {
        var now = _clock.GetUtcNow();
        lock (_gate)
        {
            if (!TryGetLive(id, now, out var entry))
            {
                return null;
            }

            entry.LastAccessedAt = now;
            LruOf(entry).Touch(entry);
            return ToSnapshot(entry, ticketProof);
        }
    }

    /// <summary>Creates a session under a new id from a commit without a ticket; <see cref="SessionCommitResult.NoChange"/> when it would hold no keys.</summary>
    public SessionCommitResult Create(SessionCommit commit)
    {
        var now = _clock.GetUtcNow();
        var values = PackedValues.Apply(null, commit);
        if (values.Count == 0)
        {
            return SessionCommitResult.NoChange;
        }

        var payload = values.PayloadBytes;
        CheckPayload(payload);
        var metadata = SignInMetadataOf(commit);
        var entry = new SessionTableEntry(this, SessionIds.NewId(), values, now, now + _options.AbsoluteLifetime, _options.IdleTimeout)
        {
            SignInMetadata = metadata,
        };
        lock (_gate)
        {
            List<string>? signedOut = null;
            if (commit.BindUserId is not null && !MakeRoomForUser(commit.BindUserId, binding: null, now, ref signedOut))
            {
                return SessionCommitResult.SessionLimitReached;
            }

            Add(entry, payload, commit.BindUserId, now);
            return Committed(entry, entry.Id) with { SignedOutSessionIds = signedOut ?? [] };
        }
    }

    /// <summary>
    /// Commits to the session <paramref name="id"/>, moving it to a new id when <paramref name="rotateId"/>, whatever
    /// <paramref name="commit"/>'s own ticket and rotation say: the sticky store commits under the id its ticket names
    /// without copying the commit. An <paramref name="id"/> that is not well-formed is never found.
    /// </summary>
    public SessionCommitResult Commit(SessionCommit commit, string id, bool rotateId)
    {
        var now = _clock.GetUtcNow();
        var metadata = SignInMetadataOf(commit);

        // The request that loaded the session carries this table's entry in its base snapshot: skip the id check and
        // the lookup when it is still the live entry under the committed ticket.
        var known = commit.Base?.TableEntry;
        if (known?.Table != this)
        {
            known = null;
            if (!SessionIds.IsWellFormed(id))
            {
                return SessionCommitResult.NotFound;
            }
        }

        lock (_gate)
        {
            SessionTableEntry entry;
            if (known is not null && known.IsLive && string.Equals(known.Id, id, StringComparison.Ordinal))
            {
                entry = known;
                if (entry.IsExpired(now))
                {
                    Expire(entry, now);
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
            List<string>? signedOut = null;
            if (commit.BindUserId is not null && !MakeRoomForUser(commit.BindUserId, entry, now, ref signedOut))
            {
                return SessionCommitResult.SessionLimitReached;
            }

            entry.Values = values;
            entry.Version++;
            entry.LastAccessedAt = now;
            ChargeBytes(entry, payload);
            if (commit.BindUserId is not null)
            {
                Bind(entry, commit.BindUserId);
                entry.SignInMetadata = metadata;
            }

            string? newTicket = null;
            if (rotateId)
            {
                _users.Remove(entry);
                _entries.Remove(entry.Id);
                entry.Id = SessionIds.NewId();
                _entries.Add(entry.Id, entry);
                _users.Add(entry);
                newTicket = entry.Id;
            }

            LruOf(entry).Touch(entry);
            TrimToBounds(now, keep: entry);
            return Committed(entry, newTicket) with { SignedOutSessionIds = signedOut ?? [] };
        }
    }

    /// <summary>
    /// Puts a whole session under the id it already has elsewhere (the sticky store's rehydration from a backup),
    /// replacing any copy held here. The bounds apply as to any write.
    /// </summary>
    public SessionSnapshot Import(SessionSnapshot session) => Import(session, null)!;

    private SessionSnapshot? Import(SessionSnapshot session, long? removals)
    {
        var now = _clock.GetUtcNow();
        var values = PackedValues.From(session.Values);
        var payload = values.PayloadBytes;
        CheckPayload(payload);
        var entry = new SessionTableEntry(this, session.Id, values, session.CreatedAt, session.AbsoluteExpiresAt, _options.IdleTimeout)
        {
            Version = session.Version,
            LastAccessedAt = now,
        };
        lock (_gate)
        {
            if (removals is { } seen && seen != _removals)
            {
                return null;
            }

            if (_entries.TryGetValue(session.Id, out var existing))
            {
                Remove(existing);
            }

            Add(entry, payload, session.UserId, now);
            return ToSnapshot(entry);
        }
    }

    /// <summary>Gets how many removals by id or by user the table has made: what <see cref="ImportUnlessRemovedSince"/> compares.</summary>
    public long Removals
    {
        get
        {
            lock (_gate)
            {
                return _removals;
            }
        }
    }

    /// <summary>
    /// Gets a count that grows whenever this table is asked to end a session of <paramref name="userId"/> (all of them, or one
    /// by public id), found or not. Shared with other users by stripe: a change means "maybe", never a missed end.
    /// </summary>
    public long UserEndsOf(string userId)
    {
        lock (_gate)
        {
            return _userEnds[UserEndStripe(userId)];
        }
    }

    private static int UserEndStripe(string userId) => (int)((uint)StringComparer.Ordinal.GetHashCode(userId) % UserEndStripes);

    /// <summary>
    /// <see cref="Import(SessionSnapshot)"/>, unless a session was removed by id or by user since <see cref="Removals"/> read
    /// <paramref name="removals"/>: then <see langword="null"/>, since the copy may be of a session revoked meanwhile.
    /// </summary>
    public SessionSnapshot? ImportUnlessRemovedSince(SessionSnapshot session, long removals) => Import(session, removals);

    /// <summary>Reads a live session without touching it: no sliding, no change to its place in the LRU order.</summary>
    public SessionSnapshot? Peek(string id)
    {
        lock (_gate)
        {
            return _entries.TryGetValue(id, out var entry) && !entry.IsExpired(_clock.GetUtcNow()) ? ToSnapshot(entry) : null;
        }
    }

    /// <summary>Removes a live session; <see langword="false"/> when there is none under that id.</summary>
    public bool Remove(string id)
    {
        lock (_gate)
        {
            _removals++;
            if (!TryGetLive(id, _clock.GetUtcNow(), out var entry))
            {
                return false;
            }

            Remove(entry);
            return true;
        }
    }

    /// <summary>
    /// Removes every session bound to a user, and counts the live ones among them. <paramref name="raiseEvents"/> when this
    /// node revoked them (not when another node's revocation reached it over the bus: that node reports them).
    /// </summary>
    public int RemoveUser(string userId, bool raiseEvents = false)
    {
        var now = _clock.GetUtcNow();
        lock (_gate)
        {
            _removals++;
            _userEnds[UserEndStripe(userId)]++;
            var revoked = 0;
            foreach (var id in _users.IdsOf(userId))
            {
                if (_entries.TryGetValue(id, out var entry))
                {
                    if (entry.IsExpired(now))
                    {
                        Expire(entry, now);
                        continue;
                    }

                    revoked++;
                    Remove(entry);
                    if (raiseEvents)
                    {
                        Events?.Raise(SessionEventKinds.Revoked, SessionEventReason.RevokedByUser, entry.Id, userId);
                    }
                }
            }

            return revoked;
        }
    }

    /// <summary>Every live session, most recently used first: what a drain flushes.</summary>
    public List<SessionSnapshot> LiveSessions()
    {
        var now = _clock.GetUtcNow();
        lock (_gate)
        {
            // The two lists merged by last access: most recently used first, whichever list.
            var live = new List<SessionSnapshot>(_entries.Count);
            var anonymous = _anonymous.Hot;
            var bound = _bound.Hot;
            while (anonymous is not null || bound is not null)
            {
                SessionTableEntry entry;
                if (bound is null || (anonymous is not null && anonymous.LastAccessedAt > bound.LastAccessedAt))
                {
                    entry = anonymous!;
                    anonymous = anonymous!.Colder;
                }
                else
                {
                    entry = bound;
                    bound = bound.Colder;
                }

                if (!entry.IsExpired(now))
                {
                    live.Add(ToSnapshot(entry));
                }
            }

            return live;
        }
    }

    /// <summary>
    /// One page of a user's live sessions in public-id order after <paramref name="afterPublicId"/>, without touching them
    /// (a listing is not activity). The expired ones the walk meets are dropped, so dead index entries go as the listing goes.
    /// </summary>
    public UserSessionPage ListUser(string userId, string? afterPublicId, int pageSize)
    {
        var now = _clock.GetUtcNow();
        lock (_gate)
        {
            var sessions = new List<UserSessionInfo>(Math.Min(pageSize, _users.CountOf(userId)));
            List<SessionTableEntry>? dead = null;
            var more = _users.Walk(userId, afterPublicId, entry =>
            {
                if (entry.IsExpired(now))
                {
                    (dead ??= []).Add(entry);
                    return true;
                }

                sessions.Add(new UserSessionInfo(entry.PublicId, entry.CreatedAt, entry.LastAccessedAt, entry.SignInMetadata ?? UserSessionListing.NoMetadata));
                return sessions.Count < pageSize;
            });
            if (dead is not null)
            {
                foreach (var entry in dead)
                {
                    Expire(entry, now);
                }
            }

            return new UserSessionPage(sessions, more && sessions.Count > 0 ? sessions[^1].PublicId : null);
        }
    }

    /// <summary>
    /// Removes the live session of <paramref name="userId"/> whose public id is <paramref name="publicId"/>; <see langword="false"/>
    /// when that user has none under it. Raises <see cref="SessionEventKinds.Revoked"/>: the store's wrappers cannot see this revocation.
    /// </summary>
    public bool RemoveUserSession(string userId, string publicId, SessionEventReason reason = SessionEventReason.RevokedById)
    {
        var now = _clock.GetUtcNow();
        lock (_gate)
        {
            _removals++;
            _userEnds[UserEndStripe(userId)]++;
            if (_users.Find(userId, publicId) is not { } entry)
            {
                return false;
            }

            if (entry.IsExpired(now))
            {
                Expire(entry, now);
                return false;
            }

            Remove(entry);
            Events?.Raise(SessionEventKinds.Revoked, reason, entry.Id, userId);
            return true;
        }
    }

    /// <summary>The id of the live session of <paramref name="userId"/> whose public id is <paramref name="publicId"/>, or <see langword="null"/>.</summary>
    public string? IdOfUserSession(string userId, string publicId)
    {
        var now = _clock.GetUtcNow();
        lock (_gate)
        {
            return _users.Find(userId, publicId) is { } entry && !entry.IsExpired(now) ? entry.Id : null;
        }
    }

    /// <summary>Gets how many sessions a user has in the index, dead ones not yet pruned included; for tests.</summary>
    internal int IndexedCountOf(string userId)
    {
        lock (_gate)
        {
            return _users.CountOf(userId);
        }
    }

    /// <summary>The ids of the live sessions bound to a user.</summary>
    public List<string> SessionIdsOf(string userId)
    {
        var now = _clock.GetUtcNow();
        lock (_gate)
        {
            var ids = _users.IdsOf(userId);
            for (var i = ids.Count - 1; i >= 0; i--)
            {
                if (!_entries.TryGetValue(ids[i], out var entry) || entry.IsExpired(now))
                {
                    ids.RemoveAt(i);
                }
            }

            return ids;
        }
    }

    private static SessionCommitResult Committed(SessionTableEntry entry, string? newTicket) => new()
    {
        Outcome = SessionCommitOutcome.Committed,
        Ticket = newTicket,
        SessionId = entry.Id,
        Version = entry.Version,
        ExpiresAt = entry.ExpiresAt,
        AbsoluteExpiresAt = entry.AbsoluteExpiresAt,
    };

    private static SessionSnapshot ToSnapshot(SessionTableEntry entry, TicketProof? ticketProof = null) => new(entry.Id, entry.Version, entry.Values)
    {
        TicketProof = ticketProof,
        CreatedAt = entry.CreatedAt,
        LastAccessedAt = entry.LastAccessedAt,
        AbsoluteExpiresAt = entry.AbsoluteExpiresAt,
        IdleTimeout = entry.IdleTimeout,
        UserId = entry.UserId,
        TableEntry = entry,
    };

    /// <summary>
    /// Before <paramref name="binding"/> (or a new session, when <see langword="null"/>) is bound to a user: whether the user
    /// may have one more session. Past <see cref="InMemorySessionStoreOptions.MaxSessionsPerUser"/>, signs out the least
    /// recently active ones to make room (adding their ids to <c>signedOut</c>, for the commit's result), or answers
    /// <see langword="false"/> under the refuse policy. Under the lock, so two sign-ins cannot both slip under the limit.
    /// </summary>
    private bool MakeRoomForUser(string userId, SessionTableEntry? binding, DateTimeOffset now, ref List<string>? signedOut)
    {
        var max = _options.MaxSessionsPerUser;
        if (max == 0 || (binding is not null && binding.UserId == userId))
        {
            return true;
        }

        var live = new List<SessionTableEntry>();
        List<SessionTableEntry>? dead = null;
        _users.Walk(userId, null, entry =>
        {
            (entry.IsExpired(now) ? dead ??= [] : live).Add(entry);
            return true;
        });
        foreach (var entry in dead ?? [])
        {
            Expire(entry, now);
        }

        if (live.Count < max)
        {
            return true;
        }

        if (_options.SessionLimitPolicy == UserSessionLimitPolicy.RefuseNewSession)
        {
            return false;
        }

        live.Sort(static (a, b) => a.LastAccessedAt.CompareTo(b.LastAccessedAt));
        foreach (var oldest in live.GetRange(0, live.Count - max + 1))
        {
            _removals++;
            Remove(oldest);
            (signedOut ??= []).Add(oldest.Id);
            Events?.Raise(SessionEventKinds.Revoked, SessionEventReason.SessionLimit, oldest.Id, userId);
        }

        return true;
    }

    // Checked here too, not only in StateSession.BindUser: a SessionCommit can be built by hand.
    private static IReadOnlyDictionary<string, string>? SignInMetadataOf(SessionCommit commit)
        => commit.BindUserId is null ? null : UserSessionListing.Validate(commit.SignInMetadata, nameof(commit));

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

    private bool TryGetLive(string id, DateTimeOffset now, out SessionTableEntry entry)
    {
        if (!_entries.TryGetValue(id, out entry!))
        {
            return false;
        }

        if (entry.IsExpired(now))
        {
            Expire(entry, now);
            return false;
        }

        return true;
    }

    /// <summary>
    /// Drops every expired session at the cold ends of the LRU lists, where idle deadlines gather: what the event
    /// dispatcher calls on a timer, so that a session no request touches again is still reported expired.
    /// </summary>
    public void SweepExpired()
    {
        var now = _clock.GetUtcNow();
        lock (_gate)
        {
            TrimExpired(_anonymous, now, keep: null);
            TrimExpired(_bound, now, keep: null);
        }
    }

    private void Expire(SessionTableEntry entry, DateTimeOffset now)
    {
        Remove(entry);
        Events?.Raise(
            SessionEventKinds.Expired,
            now >= entry.AbsoluteExpiresAt ? SessionEventReason.AbsoluteLifetime : SessionEventReason.IdleTimeout,
            entry.Id,
            entry.UserId);
    }

    private void ChargeBytes(SessionTableEntry entry, long payload)
    {
        var charge = payload + StateKitDefaults.InMemoryEntryOverheadBytes;
        _bytes += charge - entry.Charge;
        entry.Charge = charge;
    }

    private void Add(SessionTableEntry entry, long payload, string? userId, DateTimeOffset now)
    {
        _entries.Add(entry.Id, entry);
        ChargeBytes(entry, payload);
        if (userId is not null)
        {
            _users.Bind(entry, userId);
        }

        LruOf(entry).Touch(entry);
        TrimToBounds(now, keep: entry);
    }

    private void Remove(SessionTableEntry entry)
    {
        entry.IsLive = false;
        _entries.Remove(entry.Id);
        _users.Remove(entry);
        LruOf(entry).Unlink(entry);
        _bytes -= entry.Charge;
    }

    private SessionLruList LruOf(SessionTableEntry entry) => entry.UserId is null ? _anonymous : _bound;

    // Binding moves an anonymous entry to the user-bound list: the entry's list follows its UserId.
    private void Bind(SessionTableEntry entry, string userId)
    {
        LruOf(entry).Unlink(entry);
        _users.Bind(entry, userId);
        LruOf(entry).Touch(entry);
    }

    private void TrimToBounds(DateTimeOffset now, SessionTableEntry keep)
    {
        // Expired sessions gather at the cold end of each list: trimming them is amortized O(1) per write.
        TrimExpired(_anonymous, now, keep);
        TrimExpired(_bound, now, keep);

        // Anonymous sessions go first: a user-bound session is evicted only when no other anonymous one is left.
        while ((_entries.Count > _options.MaxSessions || _bytes > _options.MaxBytes) && ColdestOtherThan(keep) is { } cold)
        {
            var overSessions = _entries.Count > _options.MaxSessions;
            Remove(cold);
            StateKitTelemetry.Evictions.Add(1, _storeTag);
            Log.SessionEvicted(_logger, overSessions ? "MaxSessions" : "MaxBytes");
            Events?.Raise(SessionEventKinds.Evicted, overSessions ? SessionEventReason.MaxSessions : SessionEventReason.MaxBytes, cold.Id, cold.UserId);
        }
    }

    private void TrimExpired(SessionLruList lru, DateTimeOffset now, SessionTableEntry? keep)
    {
        while (lru.Cold is { } expired && expired != keep && expired.IsExpired(now))
        {
            Expire(expired, now);
        }
    }

    private SessionTableEntry? ColdestOtherThan(SessionTableEntry keep)
    {
        var anonymous = _anonymous.Cold == keep ? keep.Hotter : _anonymous.Cold;
        if (anonymous is not null)
        {
            return anonymous;
        }

        return _bound.Cold == keep ? keep.Hotter : _bound.Cold;
    }
}
