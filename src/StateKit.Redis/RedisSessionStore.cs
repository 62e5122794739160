using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using StateKit.Events;

namespace StateKit.Redis;

/// <summary>
/// Keeps each session as one Redis hash (one field per key), reached by an opaque 128-bit id. Every load and every commit
/// is one Lua script: one round trip, atomic, sliding the idle deadline in the same call. Works on standalone Redis and on
/// Redis Cluster. See docs/redis.md for the layout, round trips and guarantees.
/// </summary>
/// <remarks>
/// <para>
/// Every commit increments the session's version atomically. A <see cref="SessionCommitMode.MergeKeys"/> commit from a stale
/// version applies its own keys and keeps the others; for a key someone else changed meanwhile,
/// <see cref="RedisSessionStoreOptions.KeyConflictPolicy"/> decides. <see cref="SessionCommitMode.RequireBaseVersion"/>
/// (used by <see cref="SessionStoreExtensions.UpdateAsync(ISessionStore, string?, Action{StateSession}, int, CancellationToken)"/>)
/// refuses any stale version, so concurrent read-modify-writes lose nothing.
/// </para>
/// <para>
/// Expiry is logical first: the scripts compare the store's <see cref="TimeProvider"/> time with the session's stored
/// deadlines and delete a dead session when they meet it. Redis TTLs (set relative, from the same clock) then remove
/// what nobody touches again.
/// </para>
/// <para>
/// StackExchange.Redis takes no <see cref="CancellationToken"/>: the store checks the token before each call. A command
/// already sent is not abandoned, because its outcome would then be unknown.
/// </para>
/// </remarks>
public sealed class RedisSessionStore : ISessionStore, ISessionLister, IDisposable, IAsyncDisposable, ISessionEventSource
{
    private static readonly Func<RedisResult, bool> CreateWrote = static r => (RedisWriteOnceCode)(long)r == RedisWriteOnceCode.Written;
    private static readonly Func<RedisResult, bool> RevokeWrote = static r => !r.IsNull && (long)((RedisResult[])r!)[0] is not (-1 or -3);

    private readonly RedisConnection _connection;
    private readonly RedisSessionStoreOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly RedisKeys _keys;
    private readonly RedisCommandRunner _runner;
    private readonly RedisUserIndex _userIndex;
    private readonly RedisSessionRotation _rotation;
    private readonly RedisUserSessionLister _lister;
    private SessionEventSink? _events;
    private RedisExpiryListener? _expiryListener;

    /// <summary>Initializes a new instance of the <see cref="RedisSessionStore"/> class over an existing multiplexer.</summary>
    /// <param name="redis">The application's one multiplexer. The store never disposes it.</param>
    /// <param name="options">The store's settings; validated here. <see cref="RedisSessionStoreOptions.Configuration"/> is ignored.</param>
    /// <param name="timeProvider">The clock, or <see langword="null"/> for <see cref="TimeProvider.System"/>.</param>
    /// <param name="logger">A logger, or <see langword="null"/> for none.</param>
    /// <exception cref="OptionsValidationException">An option is invalid; the message lists each one.</exception>
    public RedisSessionStore(IConnectionMultiplexer redis, RedisSessionStoreOptions options, TimeProvider? timeProvider = null, ILogger<RedisSessionStore>? logger = null)
        : this(new RedisConnection(redis ?? throw new ArgumentNullException(nameof(redis))), options, timeProvider, logger)
    {
    }

    /// <summary>
    /// Initializes a new instance of the <see cref="RedisSessionStore"/> class that connects, on first use, with
    /// <see cref="RedisSessionStoreOptions.Configuration"/> and owns that connection. Create one store per application.
    /// </summary>
    /// <param name="options">The store's settings; validated here.</param>
    /// <param name="timeProvider">The clock, or <see langword="null"/> for <see cref="TimeProvider.System"/>.</param>
    /// <param name="logger">A logger, or <see langword="null"/> for none.</param>
    /// <exception cref="OptionsValidationException">An option is invalid, or <see cref="RedisSessionStoreOptions.Configuration"/> is missing.</exception>
    public RedisSessionStore(RedisSessionStoreOptions options, TimeProvider? timeProvider = null, ILogger<RedisSessionStore>? logger = null)
        : this(CreateConnection(options), options, timeProvider, logger)
    {
    }

    internal RedisSessionStore(RedisConnection connection, RedisSessionStoreOptions options, TimeProvider? timeProvider, ILogger? logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ThrowIfInvalid(options);
        _connection = connection;
        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        _keys = new RedisKeys(options.KeyPrefix);
        _runner = new RedisCommandRunner(connection, options, _logger);
        _userIndex = new RedisUserIndex(_runner, _keys, options, _time, _logger);
        _rotation = new RedisSessionRotation(this, _runner, _keys, _userIndex, options, _time, _logger);
        _lister = new RedisUserSessionLister(_runner, _keys, _userIndex, _time, RevokeOneAsync);
        Capabilities = new SessionStoreCapabilities
        {
            Location = StateLocation.Server,
            MaxPayloadBytes = options.MaxPayloadBytes,
            SurvivesNodeLoss = true,
            Concurrency = ConcurrencyGuarantee.CompareAndSet,
            Revocation = RevocationSupport.ById | RevocationSupport.ByUser,
            SupportsBlindWrites = true,
            Events = SessionEventKinds.Expired | SessionEventKinds.Revoked,
            ListsUserSessions = true,
        };
    }

    /// <inheritdoc />
    public SessionStoreCapabilities Capabilities { get; }

    /// <summary>Gets a task that ends with whether the store listens to keyspace notifications (false when not attached); for tests.</summary>
    internal Task<bool> ListeningForExpiry => _expiryListener?.Listening ?? Task.FromResult(false);

    /// <summary>Gets the keyspace listener, when the store has one; for tests.</summary>
    internal RedisExpiryListener? ExpiryListener => _expiryListener;

    /// <inheritdoc />
    /// <remarks>
    /// Raises <see cref="SessionEventKinds.Expired"/> for the sessions Redis expires when the server sends keyspace
    /// notifications (<see cref="RedisSessionStoreOptions.ExpiryNotifications"/>; once per listening node, or once per
    /// cluster with <see cref="RedisSessionStoreOptions.ExpiryEventsOncePerCluster"/>), and when a load meets a session past
    /// its deadline before Redis removed it; and <see cref="SessionEventKinds.Revoked"/> for each session
    /// <see cref="RevokeUserAsync"/> revokes.
    /// </remarks>
    void ISessionEventSource.AttachEvents(SessionEventSink sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        _events = sink;
        if (_options.ExpiryNotifications != RedisExpiryNotifications.Off)
        {
            _expiryListener = new RedisExpiryListener(_connection, _keys, _options, sink, _logger);
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// One round trip carrying two plain commands: <c>HGETALL</c>, and <c>PEXPIRE</c> to slide the key's TTL. The session's
    /// deadlines are checked here, from the hash's own fields, on the store's clock. The stored last access is written (by a
    /// small script, not awaited) only once it is <see cref="RedisSessionStoreOptions.LastAccessWriteInterval"/> old, or
    /// when the session's own deadlines need a shorter TTL than the idle timeout; a session past a deadline is deleted by
    /// the same script, awaited, which decides whether it expired here.
    /// </remarks>
    public async ValueTask<SessionSnapshot?> LoadAsync(string ticket, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (!SessionIds.IsWellFormed(ticket))
        {
            Log.TicketRejected(_logger, "malformed");
            return null;
        }

        var now = Now();
        var writeInterval = (long)_options.LastAccessWrite.TotalMilliseconds;
        if (writeInterval == 0)
        {
            return await TouchThenLoadAsync(ticket, now).ConfigureAwait(false);
        }

        // Sent from here rather than through the runner: one async frame less on the hottest path.
        HashEntry[] fields;
        IDatabase database;
        var key = _keys.Session(ticket);
        try
        {
            var redis = await _connection.GetAsync().ConfigureAwait(false);
            database = redis.GetDatabase();
            var batch = database.CreateBatch();
            // From the primary only, as the script load was: while it is gone a load fails typed rather than reading a
            // replica, so no commit follows a read of state the primary may not have (and no acknowledged-write check
            // runs against a half-changed cluster map; RedisClusterFailoverTests).
            var read = batch.HashGetAllAsync(key, CommandFlags.DemandMaster);

            // Never resurrects: PEXPIRE of a missing key does nothing. Both replies come back in the same read.
            var expire = batch.KeyExpireAsync(key, _options.IdleTimeout);
            batch.Execute();
            try
            {
                fields = await read.ConfigureAwait(false);
            }
            catch
            {
                RedisScript.Forget(expire);
                throw;
            }

            await expire.ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            throw _runner.Unavailable("load", e);
        }

        // Read with the stored last access: what the idle deadline counts from unless this load writes a newer one.
        if (RedisFields.ReadSnapshot(ticket, fields, 0, out var lastAccess) is not { } snapshot)
        {
            return null;
        }

        var absolute = snapshot.AbsoluteExpiresAt.ToUnixTimeMilliseconds();
        var idle = (long)snapshot.IdleTimeout.TotalMilliseconds;
        if (now >= absolute || now >= lastAccess + idle)
        {
            // The script decides, atomically, whether this load is the one that met the session dead (and reports it).
            return await TouchThenLoadAsync(ticket, now).ConfigureAwait(false);
        }

        if (now - lastAccess >= writeInterval || Math.Min(idle, absolute - now) < (long)_options.IdleTimeout.TotalMilliseconds)
        {
            Slide(database, key, now);

            // Read again with this load's time as the access it writes (rare: once an interval per session).
            return RedisFields.ReadSnapshot(ticket, fields, now, out _);
        }

        return snapshot;
    }

    /// <summary>
    /// The exact load: the touch script (expiry check, last access, TTL) and <c>HGETALL</c> behind it, one round trip. Used
    /// when <see cref="RedisSessionStoreOptions.LastAccessWriteInterval"/> is zero, and for a session the plain load read as past
    /// a deadline.
    /// </summary>
    private async ValueTask<SessionSnapshot?> TouchThenLoadAsync(string ticket, long now)
    {
        RedisResult touched;
        HashEntry[] fields;
        try
        {
            var redis = await _connection.GetAsync().ConfigureAwait(false);
            (touched, fields) = await RedisScripts.Touch.EvaluateThenGetAllAsync(redis.GetDatabase(), _keys.Session(ticket), [now], _logger).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            throw _runner.Unavailable("load", e);
        }

        var code = (RedisTouchCode)(long)touched;
        if (code is RedisTouchCode.ExpiredIdle or RedisTouchCode.ExpiredAbsolute)
        {
            _events?.Raise(SessionEventKinds.Expired, code == RedisTouchCode.ExpiredAbsolute ? SessionEventReason.AbsoluteLifetime : SessionEventReason.IdleTimeout, ticket);
        }

        // An empty read after a live touch: revoked between the two commands.
        return code == RedisTouchCode.Live && fields.Length > 0 ? RedisFields.ReadSnapshot(ticket, fields, now, out _) : null;
    }

    /// <summary>
    /// Writes the last access and the TTL the session's deadlines call for, behind the load that found it due, without
    /// holding the request: the script only writes a live session, so a late arrival resurrects nothing. Sent in full
    /// (<c>EVAL</c>, not <c>EVALSHA</c>): a <c>NOSCRIPT</c> retry would land behind the connection's next commands, and a
    /// sign-in right after this load must see the access (its limit signs out the least recently active). A failure is
    /// logged; the next load that finds the access stale writes it again.
    /// </summary>
    private void Slide(IDatabase database, RedisKey key, long now)
    {
        Task<RedisResult> sent;
        try
        {
            sent = database.ScriptEvaluateAsync(RedisScripts.Touch.Text, [key], [now]);
        }
        catch (Exception e) when (e is RedisException or TimeoutException or InvalidOperationException)
        {
            // StackExchange.Redis throws rather than fails the task when no connection owns the key (a failover): this
            // write is not the request's to fail.
            Log.LastAccessWriteFailed(_logger, e);
            return;
        }

        _ = sent.ContinueWith(
            static (t, state) => Log.LastAccessWriteFailed((ILogger)state!, t.Exception!.InnerException!),
            _logger,
            CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    /// <inheritdoc />
    /// <remarks>
    /// One round trip for a new session, a delta (loaded or blind) and a revoke; none when nothing changed. Binding a user
    /// adds the user index first (sign-in); rotating the id takes a few more (see docs/redis.md).
    /// </remarks>
    public async ValueTask<SessionCommitResult> CommitAsync(SessionCommit commit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(commit);
        cancellationToken.ThrowIfCancellationRequested();
        if (!commit.NeedsWrite(StateLocation.Server))
        {
            return SessionCommitResult.NoChange;
        }

        if (commit.Ticket is null)
        {
            return await CreateAsync(commit, cancellationToken).ConfigureAwait(false);
        }

        if (!SessionIds.IsWellFormed(commit.Ticket))
        {
            Log.TicketRejected(_logger, "malformed");
            return SessionCommitResult.NotFound;
        }

        if (commit.Revoke)
        {
            return await RevokeCoreAsync(commit.Ticket, cancellationToken).ConfigureAwait(false)
                ? SessionCommitResult.Deleted
                : SessionCommitResult.NotFound;
        }

        if (commit.RotateId)
        {
            return await _rotation.RotateAsync(commit, cancellationToken).ConfigureAwait(false);
        }

        string[]? signedOut = null;
        if (commit.BindUserId is not null && (signedOut = await IndexForBindAsync(commit.BindUserId, commit.Ticket, null, cancellationToken).ConfigureAwait(false)) is null)
        {
            return SessionCommitResult.SessionLimitReached;
        }

        var result = await _runner.RunWriteAsync(
            RedisScripts.Commit, _keys.Session(commit.Ticket), RedisScriptArgs.Commit(commit, Now(), _options), "commit", RedisCommitReply.WroteAnything, cancellationToken).ConfigureAwait(false);
        var committed = await InterpretCommitAsync(new RedisCommitReply(result), commit, commit.Ticket, null, cancellationToken).ConfigureAwait(false);
        return signedOut is { Length: > 0 } ? committed with { SignedOutSessionIds = signedOut } : committed;
    }

    /// <inheritdoc />
    /// <remarks>One round trip, and one more to drop the id from its user's index.</remarks>
    public async ValueTask<bool> RevokeAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sessionId);
        cancellationToken.ThrowIfCancellationRequested();
        return SessionIds.IsWellFormed(sessionId)
            && await RevokeCoreAsync(sessionId, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Reads the user's index (a set), revokes each session in it (each in its own slot, sent together), then removes
    /// from the index the ids it revoked and those without a session, which the revoke leaves a tombstone under (a create
    /// or rotation still in flight under such an id then starts over with a fresh, indexed one). An id whose session is
    /// bound to someone else stays: it may be a bind to this user in flight. A session bound after the read is left alone
    /// and stays in the index.
    /// </remarks>
    public async ValueTask<int> RevokeUserAsync(string userId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userId);
        cancellationToken.ThrowIfCancellationRequested();
        if (userId.Length == 0)
        {
            return 0;
        }

        var members = await _userIndex.MembersAsync(userId, cancellationToken).ConfigureAwait(false);
        var ids = members.Select(m => (string?)m).Where(SessionIds.IsWellFormed).Select(m => m!).ToArray();
        var revoked = await Task.WhenAll(ids.Select(id => RevokeOneAsync(id, userId, deadOnly: false, cancellationToken))).ConfigureAwait(false);
        var gone = members.Where(m => !SessionIds.IsWellFormed(m)).Concat(ids.Where((_, i) => revoked[i].Unindex).Select(id => (RedisValue)id)).ToArray();
        if (gone.Length > 0)
        {
            await _userIndex.RemoveAsync(userId, gone, cancellationToken).ConfigureAwait(false);
        }

        if (_events is { } events)
        {
            for (var i = 0; i < ids.Length; i++)
            {
                if (revoked[i].Live)
                {
                    events.Raise(SessionEventKinds.Revoked, SessionEventReason.RevokedByUser, ids[i], userId);
                }
            }
        }

        return revoked.Count(r => r.Live);
    }

    /// <inheritdoc />
    /// <remarks>
    /// One <c>SSCAN</c> batch of the user's index set and one round trip for its sessions' fields, sent together; the ids
    /// whose session is gone are revoked (tombstoned) and dropped from the index in one more. The continuation token is
    /// the scan cursor, with the last public id returned when the page filled inside a batch.
    /// </remarks>
    public ValueTask<UserSessionPage> ListUserSessionsAsync(string userId, string? continuationToken = null, int pageSize = UserSessionPage.DefaultPageSize, CancellationToken cancellationToken = default)
        => _lister.ListAsync(userId, continuationToken, pageSize, cancellationToken);

    /// <inheritdoc />
    /// <remarks>Scans only this user's index for the public id, then revokes as <see cref="RevokeUserAsync"/> does, bound to this user.</remarks>
    public async ValueTask<bool> RevokeUserSessionAsync(string userId, string publicId, CancellationToken cancellationToken = default)
    {
        var revoked = await _lister.RevokeAsync(userId, publicId, cancellationToken).ConfigureAwait(false);
        if (revoked is not { Live: true } found)
        {
            return false;
        }

        _events?.Raise(SessionEventKinds.Revoked, SessionEventReason.RevokedById, found.Id, userId);
        return true;
    }

    /// <summary>Stops listening to keyspace notifications, and disposes the connection if the store created it; a multiplexer passed in is left to its owner.</summary>
    public void Dispose()
    {
        _expiryListener?.Dispose();
        _connection.Dispose();
    }

    /// <summary>Stops listening to keyspace notifications, and disposes the connection if the store created it; a multiplexer passed in is left to its owner.</summary>
    /// <returns>A task that completes when the connection is closed.</returns>
    public ValueTask DisposeAsync()
    {
        _expiryListener?.Dispose();
        return _connection.DisposeAsync();
    }

    /// <summary>Turns the commit script's reply into the result, and keeps the user index in step with it.</summary>
    internal async ValueTask<SessionCommitResult> InterpretCommitAsync(RedisCommitReply reply, SessionCommit commit, string id, string? newTicket, CancellationToken cancellationToken)
    {
        switch (reply.Code)
        {
            case RedisCommitCode.Committed:
                var previousUser = reply.PreviousUser;
                if (commit.BindUserId is not null && !string.IsNullOrEmpty(previousUser) && previousUser != commit.BindUserId)
                {
                    await _userIndex.RemoveAsync(previousUser, id, cancellationToken).ConfigureAwait(false);
                }

                return new SessionCommitResult
                {
                    Outcome = SessionCommitOutcome.Committed,
                    Ticket = newTicket,
                    SessionId = id,
                    Version = reply.Version,
                    ExpiresAt = reply.ExpiresAt,
                    AbsoluteExpiresAt = reply.AbsoluteExpiresAt,
                };
            case RedisCommitCode.Deleted:
                var user = reply.DeletedUser;
                if (!string.IsNullOrEmpty(user))
                {
                    await _userIndex.RemoveAsync(user, id, cancellationToken).ConfigureAwait(false);
                }

                return SessionCommitResult.Deleted;
            case RedisCommitCode.NotFound:
                return SessionCommitResult.NotFound;
            case RedisCommitCode.Conflict:
                return SessionCommitResult.Conflict;
            default:
                var size = reply.Size;
                Log.PayloadTooLarge(_logger, size, _options.MaxPayloadBytes);
                throw new SessionPayloadTooLargeException(size, _options.MaxPayloadBytes);
        }
    }

    /// <summary>Gets whether <see cref="RedisSessionStoreOptions.MaxSessionsPerUser"/> is enforced across slots (Redis Cluster); for tests.</summary>
    internal bool UserLimitSpansSlots => _userIndex.SpansSlots;

    /// <summary>
    /// Indexes <paramref name="id"/> under its user before it can be live; <see langword="false"/> when
    /// <see cref="RedisSessionStoreOptions.MaxSessionsPerUser"/> refuses it (<see langword="null"/> then). Raises Revoked for
    /// the sessions signed out to make room, and returns their ids for the commit's result.
    /// </summary>
    internal async ValueTask<string[]?> IndexForBindAsync(string userId, string id, string? replacing, CancellationToken cancellationToken)
    {
        var (indexed, signedOut) = await _userIndex.AddAsync(userId, id, replacing, cancellationToken).ConfigureAwait(false);
        foreach (var gone in signedOut)
        {
            _events?.Raise(SessionEventKinds.Revoked, SessionEventReason.SessionLimit, gone, userId);
        }

        // A refused sign-in on a cluster may still have signed sessions out (an attempt that had to read again): they are
        // raised as events above, but a refusal has no result to name them in.
        return indexed ? signedOut : null;
    }

    /// <summary>Deletes a session and drops it from its user's index; true when it was live.</summary>
    internal async ValueTask<bool> RevokeCoreAsync(string id, CancellationToken cancellationToken)
    {
        var result = await _runner.RunWriteAsync(RedisScripts.Revoke, _keys.Session(id), [Now(), string.Empty], "revoke", RevokeWrote, cancellationToken).ConfigureAwait(false);
        if (result.IsNull)
        {
            return false;
        }

        var reply = (RedisResult[])result!;
        var user = (string?)reply[1];
        if (!string.IsNullOrEmpty(user))
        {
            await _userIndex.RemoveAsync(user, id, cancellationToken).ConfigureAwait(false);
        }

        return (long)reply[0] == 1;
    }

    private static RedisConnection CreateConnection(RedisSessionStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ThrowIfInvalid(options);
        if (string.IsNullOrWhiteSpace(options.Configuration))
        {
            throw OptionsValidation.Failure(
                typeof(RedisSessionStoreOptions),
                ["Configuration must be set when no IConnectionMultiplexer is passed, e.g. 'localhost:6379,abortConnect=false'."]);
        }

        return new RedisConnection(options.Configuration);
    }

    private static void ThrowIfInvalid(RedisSessionStoreOptions options)
    {
        OptionsValidation.ThrowIfAny(typeof(RedisSessionStoreOptions), options.GetValidationErrors());
    }

    private static long PayloadSize(IReadOnlyDictionary<string, ReadOnlyMemory<byte>> values)
    {
        long size = 0;
        foreach (var (key, value) in values)
        {
            size += Encoding.UTF8.GetByteCount(key) + value.Length;
        }

        return size;
    }

    private long Now() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private async ValueTask<SessionCommitResult> CreateAsync(SessionCommit commit, CancellationToken cancellationToken)
    {
        if (commit.Upserts.Count == 0)
        {
            return SessionCommitResult.NoChange;
        }

        var size = PayloadSize(commit.Upserts);
        ThrowIfTooLarge(size);
        var now = _time.GetUtcNow();
        var absolute = now + _options.AbsoluteLifetime;
        var collisions = 0;
        string[]? signedOut = null;
        for (var attempt = 1; ; attempt++)
        {
            var id = SessionIds.NewId();
            if (commit.BindUserId is not null)
            {
                var gone = await IndexForBindAsync(commit.BindUserId, id, null, cancellationToken).ConfigureAwait(false);
                if (gone is null)
                {
                    return SessionCommitResult.SessionLimitReached;
                }

                signedOut = gone.Length == 0 ? signedOut : [.. signedOut ?? [], .. gone];
            }

            var args = RedisScriptArgs.Create(commit, now, _options.IdleTimeout, absolute, size);
            var created = (RedisWriteOnceCode)(long)await _runner.RunWriteAsync(RedisScripts.Create, _keys.Session(id), args, "commit", CreateWrote, cancellationToken).ConfigureAwait(false);

            // KeyExists means the id already exists: with 128 random bits that is a broken RNG, not bad luck. Never overwrite.
            // Tombstoned means a sign-out everywhere or a prune gave the indexed id up before its key existed: start over.
            if (created == RedisWriteOnceCode.KeyExists && ++collisions == 3)
            {
                throw new InvalidOperationException("Three freshly minted session ids all existed in Redis; the random number generator is not random.");
            }

            if (created != RedisWriteOnceCode.Written && attempt == RedisDefaults.RotationAttempts)
            {
                return SessionCommitResult.Conflict;
            }

            if (created == RedisWriteOnceCode.Written)
            {
                var idleDeadline = now + _options.IdleTimeout;
                return new SessionCommitResult
                {
                    Outcome = SessionCommitOutcome.Committed,
                    Ticket = id,
                    SessionId = id,
                    Version = 1,
                    ExpiresAt = idleDeadline < absolute ? idleDeadline : absolute,
                    AbsoluteExpiresAt = absolute,
                    SignedOutSessionIds = signedOut ?? [],
                };
            }
        }
    }

    /// <summary>
    /// Revokes one session of a user's index (only one no longer alive when <paramref name="deadOnly"/>: a listing's prune,
    /// which may have read the session as absent while its create was in flight): whether it was live, and whether its id
    /// may leave the index.
    /// </summary>
    /// <param name="id">The session's id.</param>
    /// <param name="userId">The user whose index holds it.</param>
    /// <param name="deadOnly">Whether a live session is left alone, and indexed.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    private async Task<(bool Live, bool Unindex)> RevokeOneAsync(string id, string userId, bool deadOnly, CancellationToken cancellationToken)
    {
        var result = await _runner.RunWriteAsync(
            RedisScripts.Revoke, _keys.Session(id), [Now(), userId, (long)_options.AbsoluteLifetime.TotalMilliseconds, deadOnly ? "1" : "0"], "revoke", RevokeWrote, cancellationToken).ConfigureAwait(false);
        var code = (long)((RedisResult[])result!)[0];
        return (code == 1, code is not (-1 or -3));
    }

    private void ThrowIfTooLarge(long size)
    {
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
}
