using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StateKit.Caching;
using StateKit.Diagnostics;
using StateKit.Events;
using StateKit.Memory;

namespace StateKit.Sticky;

/// <summary>
/// Keeps sessions in the memory of the node that created them — the fastest store there is — and hands out tickets
/// that name that node, signed with a key ring, so a proxy can route each user back to it. With a backup store, every
/// change is copied behind the request (write-behind), another node takes a session over when its owner is gone, and
/// a node drains every session to the backup before it leaves: when the host stops, or earlier, on demand, while it runs.
/// </summary>
/// <remarks>
/// <para>
/// A ticket is <c>s1.{keyId}.{nodeId}.{sessionId}.{issuedAt}.{mac}</c> (see <see cref="StickyTicket"/>): a client can
/// neither forge a session id nor choose a node. A ticket that names another node, or a session this node no longer
/// holds, is looked up in the backup store; when found, this node takes the session over and re-issues the ticket in
/// its own name (even on a request that changes nothing). Without a backup, such a session is lost: counted in
/// <c>statekit.sticky.sessions.lost</c> and logged.
/// </para>
/// <para>
/// With a backup store, the session id is the backup's own id (the first commit of a session creates it there,
/// synchronously, once), so any node finds the copy without a map; later changes reach the backup behind the request.
/// Deletions, revocations, id rotations and user bindings go to the backup synchronously, so failover never resurrects
/// them.
/// </para>
/// <para>
/// Revocation reaches every node through an <see cref="ISessionInvalidationBus"/> (the near cache's, e.g. StateKit.Redis's
/// pub/sub bus): the revoking node deletes the backup copy first, then publishes the session id (or the user id), and
/// every node drops its copy from memory on receipt. Without a bus, the owner drops its copy when its next write to the
/// backup finds the copy gone: at the session's next change, or when a session only read is due for its refresh (a
/// quarter of the idle timeout). See docs/sticky.md for the bounds, and <see cref="Capabilities"/> for what is claimed.
/// </para>
/// </remarks>
public sealed class StickySessionStore : ISessionStore, ISessionLister, IAsyncDisposable, ISessionEventSource
{
    /// <summary>
    /// The response header a drained node adds (its value is the node id), and StateKit.Yarp's affinity policy honours:
    /// the proxy then routes the node's users, and new sessions, to other nodes.
    /// </summary>
    public const string DrainingHeaderName = "StateKit-Draining";

    internal const string Kind = "sticky";

    private readonly StickySessionStoreOptions _options;
    private readonly SessionTable _table;
    private readonly StickyBackup? _backup;
    private readonly StickyKey[] _keys;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly KeyValuePair<string, object?> _storeTag;
    private readonly string _storeName;
    private readonly ISessionInvalidationBus? _bus;
    private readonly IDisposable? _subscription;

    // Ticket strings this store verified or issued, so that a user's next requests skip the HMAC. Only the exact string
    // hits, in this store only (its key ring is fixed); time, session and ownership are still judged on every request.
    private readonly TicketCache<VerifiedTicket> _verified = new(StateKitDefaults.StickyVerifiedTicketCacheSize);
    private readonly SemaphoreSlim _drainGate = new(1, 1);
    private int _macVerifications;

    // The drain's switch (a StickyDrainState), and the requests still served from memory that it waits for: a request
    // counts itself in, then reads the state; the drain sets the state, then reads the count. One of them sees the other.
    private int _drainState;
    private int _servingFromMemory;
    private volatile TaskCompletionSource? _quiesced;

    /// <summary>Initializes a new instance of the <see cref="StickySessionStore"/> class.</summary>
    /// <param name="options">The store's settings; validated here.</param>
    /// <param name="backup">A server-side store that keeps a copy of every session, or <see langword="null"/> for none.</param>
    /// <param name="timeProvider">The clock, or <see langword="null"/> for <see cref="TimeProvider.System"/>.</param>
    /// <param name="logger">A logger, or <see langword="null"/> for none.</param>
    /// <param name="bus">
    /// Carries revocations to every node of the application (each node's store subscribes), or <see langword="null"/> for
    /// none: then a revocation reaches the node that owns the session only through the backup (see <see cref="Capabilities"/>).
    /// </param>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">An option is invalid; the message lists each one.</exception>
    /// <exception cref="ArgumentException"><paramref name="backup"/> keeps its state on the client or in a process.</exception>
    public StickySessionStore(StickySessionStoreOptions options, ISessionStore? backup = null, TimeProvider? timeProvider = null, ILogger<StickySessionStore>? logger = null, ISessionInvalidationBus? bus = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.ThrowIfInvalid();
        if (backup is not null && backup.Capabilities.Location != StateLocation.Server)
        {
            throw new ArgumentException(
                $"The backup store keeps its state in {backup.Capabilities.Location}; a sticky store's backup must be server-side (Redis, a shared distributed cache) so that another node can read it.",
                nameof(backup));
        }

        _options = options;
        _keys = [.. options.Keys];
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        var storeName = options.Name ?? Kind;
        _storeName = storeName;
        _bus = bus;
        _storeTag = new(StateKitTelemetry.StoreTag, storeName);
        var tableOptions = new InMemorySessionStoreOptions
        {
            Name = storeName,
            IdleTimeout = options.IdleTimeout,
            AbsoluteLifetime = options.AbsoluteLifetime,
            MaxPayloadBytes = options.MaxPayloadBytes,
            MaxSessions = options.MaxSessions,
            MaxBytes = options.MaxBytes,
        };

        // The bounds the in-memory store checks (MaxBytes at least MaxPayloadBytes) hold for the node's table too.
        tableOptions.ThrowIfInvalid();

        // The node's table logs nothing of its own (evictions, refused payloads): the sticky store's log is about tickets and the backup.
        _table = new SessionTable(tableOptions, storeName, _time, NullLogger.Instance);
        Capabilities = new SessionStoreCapabilities
        {
            Location = StateLocation.Process,
            MaxPayloadBytes = Math.Min(options.MaxPayloadBytes, backup?.Capabilities.MaxPayloadBytes ?? int.MaxValue),
            SurvivesNodeLoss = backup is not null,
            Concurrency = ConcurrencyGuarantee.CompareAndSet,
            Revocation = RevocationOf(backup, bus),
            SupportsBlindWrites = true,
            Events = SessionEventKinds.Expired | SessionEventKinds.Evicted | SessionEventKinds.Revoked
                | (backup is null ? SessionEventKinds.None : SessionEventKinds.Migrated | SessionEventKinds.Rehydrated),

            // Across nodes only through the backup's user index: without one, a node sees only its own sessions.
            ListsUserSessions = backup is ISessionLister && backup.Capabilities.ListsUserSessions,
        };
        if (backup is not null)
        {
            _backup = new StickyBackup(_table, backup, options, _time, _logger, _storeTag, Capabilities.MaxPayloadBytes, Issue, AnnounceAsync);
        }

        _subscription = bus?.Subscribe(OnRevocation);
    }

    /// <inheritdoc />
    /// <remarks>
    /// State lives in one node's process; it survives the loss of that node only when a backup store is configured, and
    /// then up to the changes still in the write-behind queue. Compare-and-set holds on the owner node.
    /// <para>
    /// Revocation claims only what reaches every node. By id: with a bus (every node drops its copy when the message
    /// arrives) or with a backup (the owner drops its copy when its next write to the backup finds it gone). By user: with
    /// a bus and no backup, or with a backup that revokes by user itself (its user index finds the sessions every node
    /// owns). Neither, without a bus or a backup: a revocation then reaches only the node it is made on.
    /// </para>
    /// </remarks>
    public SessionStoreCapabilities Capabilities { get; }

    /// <inheritdoc />
    /// <remarks>
    /// Raises, for this node's memory: <see cref="SessionEventKinds.Expired"/> (a lookup, a write or the periodic sweep meets
    /// an expired session), <see cref="SessionEventKinds.Evicted"/>, <see cref="SessionEventKinds.Revoked"/> for the sessions
    /// <see cref="RevokeUserAsync"/> removes here; with a backup store, <see cref="SessionEventKinds.Migrated"/> when a session
    /// moves to the backup (drain, or a request served by another node) and <see cref="SessionEventKinds.Rehydrated"/> when
    /// this node takes one over. A revocation by user that reaches this node over the bus is reported here for the sessions
    /// this node held; one by id, by the node that made it (and only when <see cref="RevokeAsync"/> found the session there
    /// or in the backup).
    /// </remarks>
    void ISessionEventSource.AttachEvents(SessionEventSink sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        _table.Events = sink;
        sink.OnSweep(_table.SweepExpired);
    }

    /// <summary>Gets the id of this node, named in every ticket it issues.</summary>
    public string NodeId => _options.NodeId;

    /// <summary>Gets how many sessions this node holds in memory, expired ones not yet trimmed included.</summary>
    public int Count => _table.Count;

    /// <summary>Gets how many bytes this node charges against <see cref="StickySessionStoreOptions.MaxBytes"/>.</summary>
    public long Bytes => _table.Bytes;

    /// <summary>
    /// Gets where the node is in moving its sessions out: <see cref="StickyDrainState.Serving"/> until
    /// <see cref="DrainAsync"/> is called (with a backup store), <see cref="StickyDrainState.Drained"/> once every session
    /// is in the backup. What <see cref="StickyDrainHealthCheck"/> reports.
    /// </summary>
    public StickyDrainState DrainState => (StickyDrainState)Volatile.Read(ref _drainState);

    /// <summary>Gets how many sessions wait for their copy in the backup store; 0 without a backup.</summary>
    public int BackupQueueLength => _backup?.Replicator.QueueLength ?? 0;

    /// <summary>Gets how many replications are queued or being written; 0 once the backup has caught up.</summary>
    internal int BackupInFlight => _backup?.Replicator.InFlight ?? 0;

    /// <summary>Gets or sets how many verified tickets the store remembers before it forgets them all; 0 remembers none. For tests.</summary>
    internal int VerifiedTicketCapacity { get => _verified.Capacity; set => _verified.Capacity = value; }

    /// <summary>Gets how many verified tickets the store remembers; for tests.</summary>
    internal int VerifiedTicketCount => _verified.Count;

    /// <summary>Gets how many tickets the store has verified in full (the HMAC); for tests.</summary>
    internal int MacVerifications => Volatile.Read(ref _macVerifications);

    /// <inheritdoc />
    public async ValueTask<SessionSnapshot?> LoadAsync(string ticket, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (!TryRead(ticket, null, out var verified))
        {
            return null;
        }

        var contents = verified.Contents;
        if (_backup is null)
        {
            var local = _table.Load(contents.SessionId, verified);
            if (local is null && contents.NodeId != NodeId)
            {
                Lost("no_backup");
            }

            return local is null || contents.NodeId == NodeId ? local : Reissued(local);
        }

        if (!EnterServing())
        {
            var copy = await _backup.LoadThroughAsync(contents.SessionId, contents.NodeId != NodeId, cancellationToken).ConfigureAwait(false);
            return copy is null ? null : Verified(copy, verified);
        }

        try
        {
            var session = _table.Load(contents.SessionId, verified);
            if (session is not null)
            {
                await _backup.Replicator.RefreshIfDueAsync(session.Id, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                session = await _backup.RehydrateAsync(contents.SessionId, contents.NodeId != NodeId, cancellationToken).ConfigureAwait(false);
            }

            return session is null || contents.NodeId == NodeId ? session : Reissued(session);
        }
        finally
        {
            ExitServing();
        }
    }

    /// <inheritdoc />
    public async ValueTask<SessionCommitResult> CommitAsync(SessionCommit commit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(commit);
        cancellationToken.ThrowIfCancellationRequested();
        if (!commit.NeedsWrite(StateLocation.Process))
        {
            return SessionCommitResult.NoChange;
        }

        if (commit.Ticket is null)
        {
            return await CreateAsync(commit, cancellationToken).ConfigureAwait(false);
        }

        if (!TryRead(commit.Ticket, commit.Base, out var verified))
        {
            return SessionCommitResult.NotFound;
        }

        var contents = verified.Contents;
        var foreign = contents.NodeId != NodeId;
        if (_backup is not null)
        {
            if (!EnterServing())
            {
                return await _backup.CommitThroughAsync(commit, contents.SessionId, foreign, cancellationToken).ConfigureAwait(false);
            }

            try
            {
                return await _backup.CommitAsync(commit, contents.SessionId, foreign, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                ExitServing();
            }
        }

        // Nothing to rehydrate from and no copy to delete first: the node's table alone judges whether the session
        // exists, is stale, or ends (a revoke, or no keys left), without a lookup ahead of its own.
        var result = _table.Commit(commit, contents.SessionId, commit.RotateId);
        if (result.Outcome == SessionCommitOutcome.NotFound && foreign)
        {
            Lost("no_backup");
        }

        // A new inner ticket (rotation), or a ticket naming another node: the client carries one in this node's name.
        return result.Outcome == SessionCommitOutcome.Committed && (result.Ticket is not null || foreign)
            ? result with { Ticket = Issue(result.SessionId!) }
            : result;
    }

    /// <inheritdoc />
    /// <exception cref="NotSupportedException">The store has neither a backup nor a bus (see <see cref="Capabilities"/>).</exception>
    /// <remarks>
    /// Deletes the backup copy first (so that no node can take the session over), then this node's copy, then publishes
    /// the id on the bus: with an in-process bus every node has dropped its copy when this returns; with Redis pub/sub,
    /// when the message arrives (see docs/sticky.md for the bound, and for what holds without a bus).
    /// </remarks>
    public async ValueTask<bool> RevokeAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sessionId);
        cancellationToken.ThrowIfCancellationRequested();
        if (!Capabilities.Revocation.HasFlag(RevocationSupport.ById))
        {
            throw new NotSupportedException(
                "A sticky store without a backup store or an invalidation bus cannot revoke a session held by another node. Register an ISessionInvalidationBus (e.g. StateKit.Redis's RedisSessionInvalidationBus) shared by every node, or end the session with StateSession.Revoke() on the request that carries its ticket.");
        }

        var inBackup = false;
        if (_backup is not null && SessionIds.IsWellFormed(sessionId))
        {
            inBackup = await _backup.DeleteAsync(sessionId, cancellationToken).ConfigureAwait(false);
        }

        cancellationToken.ThrowIfCancellationRequested();
        var here = _table.Remove(sessionId);
        await AnnounceAsync(new SessionInvalidation(sessionId, long.MaxValue), cancellationToken).ConfigureAwait(false);
        return here || inBackup;
    }

    /// <inheritdoc />
    /// <exception cref="NotSupportedException">The revocation could not reach every node (see <see cref="Capabilities"/>).</exception>
    /// <remarks>
    /// Revokes the user's backup copies through the backup's own user index when it has one (the sessions every node owns),
    /// else the copies of the sessions this node holds; then this node's sessions; then publishes the user id, and every
    /// node drops that user's sessions from memory when the message arrives. Returns the larger of the backup's count and
    /// this node's.
    /// </remarks>
    public async ValueTask<int> RevokeUserAsync(string userId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userId);
        cancellationToken.ThrowIfCancellationRequested();
        if (!Capabilities.Revocation.HasFlag(RevocationSupport.ByUser))
        {
            throw new NotSupportedException(
                "This sticky store cannot find a user's sessions on every node: without an invalidation bus other nodes are not told, and a backup store without a user index (a distributed cache) keeps their copies. Register an ISessionInvalidationBus shared by every node, and use a backup that revokes by user (Redis).");
        }

        var inBackup = 0;
        if (_backup is not null)
        {
            inBackup = await _backup.RevokeUserAsync(userId, _table.SessionIdsOf(userId), cancellationToken).ConfigureAwait(false);
        }

        cancellationToken.ThrowIfCancellationRequested();
        var here = _table.RemoveUser(userId, raiseEvents: true);
        await AnnounceAsync(SessionInvalidation.ForUser(userId), cancellationToken).ConfigureAwait(false);
        return Math.Max(here, inBackup);
    }

    /// <inheritdoc />
    /// <exception cref="NotSupportedException">The store has no backup store that lists (see <see cref="SessionStoreCapabilities.ListsUserSessions"/>).</exception>
    /// <remarks>
    /// The backup's listing (its user index holds every node's sessions), after this node has written the changes it still
    /// had queued for the user's sessions. A session's last-active time is its backup copy's: it lags the session's last
    /// request on its owner node by at most <see cref="StickySessionStoreOptions.BackupRefreshInterval"/> (a quarter of the
    /// idle timeout by default) plus the write-behind queue's lag; exact for this node's sessions. Public ids are those of
    /// the backup's ids, which are the sticky sessions' ids: <see cref="StateSession.Id"/> shows the same.
    /// </remarks>
    public ValueTask<UserSessionPage> ListUserSessionsAsync(string userId, string? continuationToken = null, int pageSize = UserSessionPage.DefaultPageSize, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userId);
        UserSessionListing.ThrowIfBadPageSize(pageSize);
        var backup = ListingBackup();
        cancellationToken.ThrowIfCancellationRequested();
        return backup.ListUserSessionsAsync(userId, continuationToken, pageSize, cancellationToken);
    }

    /// <inheritdoc />
    /// <exception cref="NotSupportedException">The store has no backup store that lists (see <see cref="SessionStoreCapabilities.ListsUserSessions"/>).</exception>
    /// <remarks>
    /// Revokes the session in the backup's user index first (no node can take it over after), then drops this node's copy
    /// if it holds it, then publishes the user and public id on the bus: the owner node finds its copy through its own user
    /// index and drops it (with an in-process bus before this returns; with Redis pub/sub when the message arrives). Without
    /// a bus the owner drops it when its next write to the backup finds it gone, as for <see cref="RevokeAsync"/>.
    /// </remarks>
    public async ValueTask<bool> RevokeUserSessionAsync(string userId, string publicId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userId);
        ArgumentNullException.ThrowIfNull(publicId);
        var backup = ListingBackup();
        cancellationToken.ThrowIfCancellationRequested();
        return UserSessionListing.IsPublicId(publicId) && await backup.RevokeUserSessionAsync(userId, publicId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Moves every live session of this node to the backup store and drops it from memory, within
    /// <see cref="StickySessionStoreOptions.DrainTimeout"/>, while the node keeps answering requests; then
    /// <see cref="DrainState"/> is <see cref="StickyDrainState.Drained"/>. Call it before taking a node out (or through
    /// StateKit.AspNetCore's <c>MapStateKitDrain</c> endpoint); the hosted service <c>UseSticky</c> registers calls it
    /// again when the host stops, which then only moves what is left.
    /// </summary>
    /// <remarks>
    /// <para>
    /// From the call on, the node serves nothing from memory: a request waits for its session's move (or makes it), then
    /// reads and writes the backup; a new session is created in the backup only. Requests served from memory when the
    /// drain starts are waited for first, and write-behind replication is stopped, so that no older copy reaches the
    /// backup after a move. No acknowledged write is left behind in a copy another node could miss.
    /// </para>
    /// <para>
    /// A session whose move failed, or that the deadline cut off, stays in memory and the state stays
    /// <see cref="StickyDrainState.Draining"/>: call again to retry. Without a backup there is nowhere to move to: the
    /// node keeps serving, and the result reports the sessions a stop would lose.
    /// </para>
    /// </remarks>
    /// <param name="cancellationToken">Cancels the drain before its deadline (e.g. the host's shutdown timeout).</param>
    /// <returns>How many sessions were moved, failed, or not reached.</returns>
    public async Task<StickyDrainResult> DrainAsync(CancellationToken cancellationToken = default)
    {
        var started = _time.GetTimestamp();
        if (_backup is null)
        {
            var count = _table.LiveSessions().Count;
            if (count > 0)
            {
                Log.StickyDrainWithoutBackup(_logger, NodeId, count);
            }

            return new StickyDrainResult { Sessions = count, HasBackup = false };
        }

        await _drainGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (DrainState == StickyDrainState.Serving)
            {
                _quiesced = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                Interlocked.Exchange(ref _drainState, (int)StickyDrainState.Draining);
            }

            var (result, complete) = await _backup.DrainAsync(started, QuiesceAsync, cancellationToken).ConfigureAwait(false);
            if (complete)
            {
                Volatile.Write(ref _drainState, (int)StickyDrainState.Drained);
            }

            return result;
        }
        finally
        {
            _drainGate.Release();
        }
    }

    /// <summary>
    /// Stops listening to the bus, and stops write-behind replication at once, abandoning what is queued (what an abrupt
    /// stop loses). Does not drain.
    /// </summary>
    /// <returns>A task that completes when the replication loop has stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        _subscription?.Dispose();
        if (_backup is not null)
        {
            await _backup.DisposeAsync().ConfigureAwait(false);
        }

        _drainGate.Dispose();
    }

    // A request on a node with a backup counts itself in before it touches memory; false once a drain has started: then
    // it goes through the backup instead, and must not call ExitServing.
    private bool EnterServing()
    {
        Interlocked.Increment(ref _servingFromMemory);
        if (Volatile.Read(ref _drainState) == (int)StickyDrainState.Serving)
        {
            return true;
        }

        ExitServing();
        return false;
    }

    private void ExitServing()
    {
        if (Interlocked.Decrement(ref _servingFromMemory) == 0 && Volatile.Read(ref _drainState) != (int)StickyDrainState.Serving)
        {
            _quiesced?.TrySetResult();
        }
    }

    private Task QuiesceAsync(CancellationToken cancellationToken)
        => Volatile.Read(ref _servingFromMemory) == 0 || _quiesced is not { } quiesced ? Task.CompletedTask : quiesced.Task.WaitAsync(cancellationToken);

    // A snapshot read through the backup, carrying this request's verified ticket so that its commit skips the MAC.
    private static SessionSnapshot Verified(SessionSnapshot s, VerifiedTicket verified) => new(s.Id, s.Version, s.Values)
    {
        CreatedAt = s.CreatedAt,
        LastAccessedAt = s.LastAccessedAt,
        AbsoluteExpiresAt = s.AbsoluteExpiresAt,
        IdleTimeout = s.IdleTimeout,
        UserId = s.UserId,
        TicketProof = verified,
    };

    private StickyBackup ListingBackup() => _backup is { Lister: not null } backup
        ? backup
        : throw new NotSupportedException(
            "This sticky store cannot list a user's sessions: each node holds only its own, and only a backup store with a user index (Redis, or any store whose Capabilities.ListsUserSessions is true) sees every node's. Configure one with StickySessionStoreOptions.BackupStoreName (or the constructor's backup).");

    private static RevocationSupport RevocationOf(ISessionStore? backup, ISessionInvalidationBus? bus)
    {
        var byId = bus is not null || backup is not null ? RevocationSupport.ById : RevocationSupport.None;
        var byUser = (bus is not null && backup is null) || (backup?.Capabilities.Revocation.HasFlag(RevocationSupport.ByUser) ?? false)
            ? RevocationSupport.ByUser
            : RevocationSupport.None;
        return byId | byUser;
    }

    // Called by the bus for every node's revocations, this node's own included (then a no-op: already done).
    private void OnRevocation(SessionInvalidation message)
    {
        if (message.UserId is { } userId)
        {
            foreach (var id in _table.SessionIdsOf(userId))
            {
                _backup?.Replicator.Forget(id);
            }

            // Each session lives in one node's memory: the node that held it reports it (a no-op on the node that revoked,
            // which removed its own already).
            _table.RemoveUser(userId, raiseEvents: true);
        }
        else if (_backup is not null && StickyUserSessionMessage.TryRead(message, out var user, out var publicId, out var reason))
        {
            // Ended by public id on some node (revoked from a listing, or signed out by the backup's limit).
            _backup.RemoveUserSessionHere(user, publicId, reason);
        }
        else if (message.SessionId is { } sessionId)
        {
            // Other versions are near-cache traffic on a shared channel: only a deletion ends a session.
            if (message.Version == long.MaxValue)
            {
                _backup?.Replicator.Forget(sessionId);
                _table.Remove(sessionId);
            }
        }
        else
        {
            // The bus may have lost messages: every session's next request re-checks its backup copy (behind the request).
            _backup?.Replicator.ForgetRefreshes();
        }
    }

    private async ValueTask AnnounceAsync(SessionInvalidation message, CancellationToken cancellationToken)
    {
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
            // The backup copy is gone already: the owner finds out at its next write to the backup.
            Log.StickyRevocationPublishFailed(_logger, _storeName, e);
        }
    }

    private async ValueTask<SessionCommitResult> CreateAsync(SessionCommit commit, CancellationToken cancellationToken)
    {
        if (_backup is not null)
        {
            if (!EnterServing())
            {
                return await _backup.CreateAsync(commit, inMemory: false, cancellationToken).ConfigureAwait(false);
            }

            try
            {
                return await _backup.CreateAsync(commit, inMemory: true, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                ExitServing();
            }
        }

        var created = _table.Create(commit);
        return created.Outcome == SessionCommitOutcome.Committed ? created with { Ticket = Issue(created.SessionId!) } : created;
    }

    private void Lost(string reason)
    {
        StateKitTelemetry.SessionsLost.Add(1, _storeTag, new(StateKitTelemetry.ReasonTag, reason));
        Log.StickySessionLost(_logger, reason);
    }

    private bool TryRead(string? ticket, SessionSnapshot? loaded, [NotNullWhen(true)] out VerifiedTicket? verified)
    {
        // The MAC is checked once per ticket string: by the load of this request (its snapshot carries the proof), or by
        // an earlier request (remembered). A string that differs by one character is neither, and is verified in full.
        verified = loaded?.TicketProof as VerifiedTicket;
        if (verified is null || verified.Store != this || !string.Equals(verified.Ticket, ticket, StringComparison.Ordinal))
        {
            if (ticket is null || !_verified.TryGet(ticket, out verified))
            {
                Interlocked.Increment(ref _macVerifications);
                if (!StickyTicket.TryRead(ticket, _keys, out var contents))
                {
                    Log.StickyTicketRejected(_logger, "malformed, unknown key or bad MAC");
                    return false;
                }

                verified = new VerifiedTicket(this, ticket!, contents);
                if (!IsLive(verified))
                {
                    return false;
                }

                if (!SessionIds.IsWellFormed(contents.SessionId))
                {
                    Log.StickyTicketRejected(_logger, "malformed session id");
                    return false;
                }

                Remember(verified);
                return true;
            }
        }

        if (!IsLive(verified))
        {
            Forget(verified.Ticket);
            return false;
        }

        return true;
    }

    // No session outlives its absolute lifetime, and no ticket is issued in the future (a minute of clock skew allowed).
    // Judged on every request, remembered ticket or not: time is what changes for a ticket string.
    private bool IsLive(VerifiedTicket verified)
    {
        var now = _time.GetUtcNow();
        var issuedAt = verified.Contents.IssuedAt;
        if (now - issuedAt > _options.AbsoluteLifetime || issuedAt - now > TimeSpan.FromMinutes(1))
        {
            Log.StickyTicketRejected(_logger, "outside the absolute lifetime");
            return false;
        }

        return true;
    }

    private void Remember(VerifiedTicket verified) => _verified.Add(verified.Ticket, verified);

    private void Forget(string ticket) => _verified.Remove(ticket);

    private string Issue(string sessionId) => IssueVerified(sessionId).Ticket;

    // The ticket this store signs is as good as verified: remembered, so the client's next request skips the HMAC.
    private VerifiedTicket IssueVerified(string sessionId)
    {
        var now = _time.GetUtcNow();
        var key = _keys[0];
        var ticket = StickyTicket.Issue(key, NodeId, sessionId, now);
        var verified = new VerifiedTicket(this, ticket, new StickyTicket.Contents(NodeId, sessionId, DateTimeOffset.FromUnixTimeSeconds(now.ToUnixTimeSeconds()), key));
        Remember(verified);
        return verified;
    }

    private SessionSnapshot Reissued(SessionSnapshot s)
    {
        var reissued = IssueVerified(s.Id);
        return new(s.Id, s.Version, s.Values)
        {
            CreatedAt = s.CreatedAt,
            LastAccessedAt = s.LastAccessedAt,
            AbsoluteExpiresAt = s.AbsoluteExpiresAt,
            IdleTimeout = s.IdleTimeout,
            UserId = s.UserId,
            ReissuedTicket = reissued.Ticket,
            TableEntry = s.TableEntry,

            // StateSession commits under the reissued ticket, which this store just signed.
            TicketProof = reissued,
        };
    }

    /// <summary>A ticket string this store verified (or signed), with what it says.</summary>
    private sealed class VerifiedTicket(StickySessionStore store, string ticket, StickyTicket.Contents contents) : TicketProof(ticket)
    {
        public StickySessionStore Store { get; } = store;

        public StickyTicket.Contents Contents { get; } = contents;
    }
}
