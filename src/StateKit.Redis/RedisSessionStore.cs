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
public sealed class RedisSessionStore : ISessionStore, IDisposable, IAsyncDisposable
{
    private readonly RedisConnection _connection;
    private readonly RedisSessionStoreOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _sessionKeyPrefix;
    private readonly string _userKeyPrefix;
    private bool _waitSupported;

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
        _sessionKeyPrefix = options.KeyPrefix + "s:{";
        _userKeyPrefix = options.KeyPrefix + "u:{";
        Capabilities = new SessionStoreCapabilities
        {
            Location = StateLocation.Server,
            MaxPayloadBytes = options.MaxPayloadBytes,
            SurvivesNodeLoss = true,
            Concurrency = ConcurrencyGuarantee.CompareAndSet,
            Revocation = RevocationSupport.ById | RevocationSupport.ByUser,
            SupportsBlindWrites = true,
        };
    }

    /// <inheritdoc />
    public SessionStoreCapabilities Capabilities { get; }

    /// <inheritdoc />
    /// <remarks>
    /// One round trip carrying two commands: a small script that checks expiry and slides the idle deadline, and
    /// <c>HGETALL</c> behind it in the same write.
    /// </remarks>
    public async ValueTask<SessionSnapshot?> LoadAsync(string ticket, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (!SessionIds.IsWellFormed(ticket))
        {
            Log.TicketRejected(_logger, "malformed");
            return null;
        }

        RedisResult touched;
        HashEntry[] fields;
        try
        {
            var redis = await _connection.GetAsync().ConfigureAwait(false);
            (touched, fields) = await RedisScripts.Touch.EvaluateThenGetAllAsync(redis.GetDatabase(), SessionKey(ticket), [Now()], _logger).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            throw Unavailable("load", e);
        }

        // An empty read after a live touch: revoked between the two commands.
        return (long)touched == 1 && fields.Length > 0 ? ReadSnapshot(ticket, fields) : null;
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
        if (!commit.HasChanges)
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
            return await RevokeCoreAsync(commit.Ticket, null, cancellationToken).ConfigureAwait(false)
                ? SessionCommitResult.Deleted
                : SessionCommitResult.NotFound;
        }

        if (commit.RotateId)
        {
            return await RotateAsync(commit, cancellationToken).ConfigureAwait(false);
        }

        if (commit.BindUserId is not null)
        {
            await AddToUserIndexAsync(commit.BindUserId, commit.Ticket, cancellationToken).ConfigureAwait(false);
        }

        var result = await RunWriteAsync(RedisScripts.Commit, SessionKey(commit.Ticket), CommitArgs(commit), "commit", CommitWrote, cancellationToken).ConfigureAwait(false);
        return await InterpretCommitAsync((RedisResult[])result!, commit, commit.Ticket, null, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>One round trip, and one more to drop the id from its user's index.</remarks>
    public async ValueTask<bool> RevokeAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sessionId);
        cancellationToken.ThrowIfCancellationRequested();
        return SessionIds.IsWellFormed(sessionId)
            && await RevokeCoreAsync(sessionId, null, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Reads the user's index (a set), revokes each session in it (each in its own slot, sent together), then removes
    /// those ids from the index. A session bound after the read is left alone and stays in the index.
    /// </remarks>
    public async ValueTask<int> RevokeUserAsync(string userId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userId);
        cancellationToken.ThrowIfCancellationRequested();
        if (userId.Length == 0)
        {
            return 0;
        }

        var userKey = UserKey(userId);
        var members = await CallAsync(db => db.SetMembersAsync(userKey), "revoke", cancellationToken).ConfigureAwait(false);
        var ids = members.Select(m => (string?)m).Where(SessionIds.IsWellFormed).Select(m => m!).ToArray();
        var revoked = await Task.WhenAll(ids.Select(id => RevokeOneAsync(id, userId, cancellationToken))).ConfigureAwait(false);
        if (members.Length > 0)
        {
            await CallAsync(db => db.SetRemoveAsync(userKey, members), "revoke", cancellationToken).ConfigureAwait(false);
        }

        return revoked.Count(live => live);
    }

    /// <summary>Disposes the connection if the store created it; a multiplexer passed in is left to its owner.</summary>
    public void Dispose() => _connection.Dispose();

    /// <summary>Disposes the connection if the store created it; a multiplexer passed in is left to its owner.</summary>
    /// <returns>A task that completes when the connection is closed.</returns>
    public ValueTask DisposeAsync() => _connection.DisposeAsync();

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

    private static bool CommitWrote(RedisResult reply) => (long)((RedisResult[])reply!)[0] is 1 or 0;

    private static DateTimeOffset FromMs(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);

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

    private RedisKey SessionKey(string id) => _sessionKeyPrefix + id + "}";

    private RedisKey UserKey(string userId) => _userKeyPrefix + userId + "}";

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
        for (var attempt = 0; ; attempt++)
        {
            var id = SessionIds.NewId();
            if (commit.BindUserId is not null)
            {
                await AddToUserIndexAsync(commit.BindUserId, id, cancellationToken).ConfigureAwait(false);
            }

            var args = new RedisValue[6 + (2 * commit.Upserts.Count)];
            args[0] = now.ToUnixTimeMilliseconds();
            args[1] = (long)_options.IdleTimeout.TotalMilliseconds;
            args[2] = absolute.ToUnixTimeMilliseconds();
            args[3] = commit.BindUserId ?? string.Empty;
            args[4] = size;
            args[5] = commit.Upserts.Count;
            var i = 6;
            foreach (var (key, value) in commit.Upserts)
            {
                args[i++] = key;
                args[i++] = value;
            }

            var created = (long)await RunWriteAsync(RedisScripts.Create, SessionKey(id), args, "commit", static r => (long)r == 1, cancellationToken).ConfigureAwait(false);

            // 0 means the id already exists: with 128 random bits that is a broken RNG, not bad luck. Never overwrite.
            if (created == 1 || attempt == 2)
            {
                if (created != 1)
                {
                    throw new InvalidOperationException("Three freshly minted session ids all existed in Redis; the random number generator is not random.");
                }

                var idleDeadline = now + _options.IdleTimeout;
                return new SessionCommitResult
                {
                    Outcome = SessionCommitOutcome.Committed,
                    Ticket = id,
                    SessionId = id,
                    Version = 1,
                    ExpiresAt = idleDeadline < absolute ? idleDeadline : absolute,
                    AbsoluteExpiresAt = absolute,
                };
            }
        }
    }

    /// <summary>
    /// Builds a snapshot from the session's raw hash: <c>d:</c> fields are the values (kept as the buffers the client
    /// already read, not copied again), <c>m:</c> fields the metadata, <c>w:</c> fields only matter to the commit script.
    /// </summary>
    private static SessionSnapshot? ReadSnapshot(string id, HashEntry[] fields)
    {
        var values = new Dictionary<string, ReadOnlyMemory<byte>>(fields.Length / 2, StringComparer.Ordinal);
        long? version = null;
        long created = 0, lastAccess = 0, absolute = 0, idle = 0;
        string? userId = null;
        foreach (var field in fields)
        {
            ReadOnlyMemory<byte> name = field.Name;
            var span = name.Span;
            if (span.Length < 2 || span[1] != (byte)':')
            {
                continue;
            }

            if (span[0] == (byte)'d')
            {
                values[Encoding.UTF8.GetString(span[2..])] = (ReadOnlyMemory<byte>)field.Value;
            }
            else if (span[0] == (byte)'m' && span.Length == 3)
            {
                switch (span[2])
                {
                    case (byte)'v': version = (long)field.Value; break;
                    case (byte)'c': created = (long)field.Value; break;
                    case (byte)'a': lastAccess = (long)field.Value; break;
                    case (byte)'x': absolute = (long)field.Value; break;
                    case (byte)'i': idle = (long)field.Value; break;
                    case (byte)'u': userId = field.Value; break;
                }
            }
        }

        if (version is null)
        {
            return null;
        }

        return new SessionSnapshot(id, version.Value, values)
        {
            CreatedAt = FromMs(created),
            LastAccessedAt = FromMs(lastAccess),
            AbsoluteExpiresAt = FromMs(absolute),
            IdleTimeout = TimeSpan.FromMilliseconds(idle),
            UserId = string.IsNullOrEmpty(userId) ? null : userId,
        };
    }

    private RedisValue[] CommitArgs(SessionCommit commit)
    {
        var args = new RedisValue[9 + (2 * commit.Upserts.Count) + commit.Removals.Count];
        var requireBase = commit.Mode == SessionCommitMode.RequireBaseVersion && commit.Base is not null;
        args[0] = Now();
        args[1] = commit.Base?.Version ?? 0;
        args[2] = requireBase ? 1 : 0;
        args[3] = _options.KeyConflictPolicy == KeyConflictPolicy.Conflict ? 1 : 0;
        args[4] = commit.ClearExisting ? 1 : 0;
        args[5] = _options.MaxPayloadBytes;
        args[6] = commit.BindUserId ?? string.Empty;
        args[7] = commit.Upserts.Count;
        args[8] = commit.Removals.Count;
        var i = 9;
        foreach (var (key, value) in commit.Upserts)
        {
            args[i++] = key;
            args[i++] = value;
        }

        foreach (var key in commit.Removals)
        {
            args[i++] = key;
        }

        return args;
    }

    private async ValueTask<SessionCommitResult> InterpretCommitAsync(RedisResult[] reply, SessionCommit commit, string id, string? newTicket, CancellationToken cancellationToken)
    {
        switch ((long)reply[0])
        {
            case 1:
                var previousUser = (string?)reply[3];
                if (commit.BindUserId is not null && !string.IsNullOrEmpty(previousUser) && previousUser != commit.BindUserId)
                {
                    await RemoveFromUserIndexAsync(previousUser, id, cancellationToken).ConfigureAwait(false);
                }

                return new SessionCommitResult
                {
                    Outcome = SessionCommitOutcome.Committed,
                    Ticket = newTicket,
                    SessionId = id,
                    Version = (long)reply[1],
                    ExpiresAt = FromMs((long)reply[2]),
                    AbsoluteExpiresAt = FromMs((long)reply[4]),
                };
            case 0:
                var user = (string?)reply[1];
                if (!string.IsNullOrEmpty(user))
                {
                    await RemoveFromUserIndexAsync(user, id, cancellationToken).ConfigureAwait(false);
                }

                return SessionCommitResult.Deleted;
            case -1:
                return SessionCommitResult.NotFound;
            case -2:
                return SessionCommitResult.Conflict;
            default:
                var size = (long)reply[1];
                Log.PayloadTooLarge(_logger, size, _options.MaxPayloadBytes);
                throw new SessionPayloadTooLargeException(size, _options.MaxPayloadBytes);
        }
    }

    /// <summary>
    /// Moves a session to a new id. On Cluster the new key lives in another slot, so this cannot be one atomic step; it is
    /// ordered so that a crash at any point loses nothing and never leaves two live ids (reasoning in docs/redis.md):
    /// copy the old hash; write the copy under the new id; apply this commit's delta to the new id only; add the new id to
    /// the user index; delete the old id only if nobody wrote it since the copy (else start over); tell the client.
    /// </summary>
    private async ValueTask<SessionCommitResult> RotateAsync(SessionCommit commit, CancellationToken cancellationToken)
    {
        var oldId = commit.Ticket!;
        var oldKey = SessionKey(oldId);
        for (var attempt = 1; attempt <= RedisDefaults.RotationAttempts; attempt++)
        {
            var exported = await RunAsync(RedisScripts.Export, oldKey, [Now()], "rotate", cancellationToken).ConfigureAwait(false);
            if (exported.IsNull)
            {
                return SessionCommitResult.NotFound;
            }

            var fields = (RedisResult[])exported!;
            var args = new RedisValue[1 + fields.Length];
            RedisValue copiedVersion = RedisValue.Null;
            string? oldUser = null;
            for (var i = 0; i + 1 < fields.Length; i += 2)
            {
                var name = (string?)fields[i];
                args[1 + i] = (RedisValue)fields[i];
                args[2 + i] = (RedisValue)fields[i + 1];
                if (name == "m:v")
                {
                    copiedVersion = (RedisValue)fields[i + 1];
                }
                else if (name == "m:u")
                {
                    oldUser = (string?)fields[i + 1];
                }
            }

            var newId = SessionIds.NewId();
            var newKey = SessionKey(newId);
            var user = commit.BindUserId ?? oldUser;
            if (!string.IsNullOrEmpty(user))
            {
                // Before the new id can be live, so that "sign out everywhere" can always find it.
                await AddToUserIndexAsync(user, newId, cancellationToken).ConfigureAwait(false);
            }

            args[0] = Now();
            var imported = (long)await RunAsync(RedisScripts.Import, newKey, args, "rotate", cancellationToken).ConfigureAwait(false);
            if (imported != 1)
            {
                continue;
            }

            // The WAIT sent with this commit also covers the import before it: same key, same node, same connection.
            var reply = (RedisResult[])(await RunWriteAsync(RedisScripts.Commit, newKey, CommitArgs(commit), "rotate", CommitWrote, cancellationToken).ConfigureAwait(false))!;
            var code = (long)reply[0];
            if (code is -1 or -2 or -3 or 0)
            {
                // The delta did not apply to the copy (or emptied it): the copy must not outlive this call.
                await CallAsync(db => db.KeyDeleteAsync(newKey), "rotate", cancellationToken).ConfigureAwait(false);
                if (code == 0)
                {
                    await RevokeCoreAsync(oldId, null, cancellationToken).ConfigureAwait(false);
                    return SessionCommitResult.Deleted;
                }

                return await InterpretCommitAsync(reply, commit, newId, newId, cancellationToken).ConfigureAwait(false);
            }

            var retired = (long)await RunWriteAsync(RedisScripts.Retire, oldKey, [copiedVersion], "rotate", static r => (long)r == 1, cancellationToken).ConfigureAwait(false);
            if (retired == 1)
            {
                if (!string.IsNullOrEmpty(oldUser))
                {
                    await RemoveFromUserIndexAsync(oldUser, oldId, cancellationToken).ConfigureAwait(false);
                }

                var committed = await InterpretCommitAsync(reply, commit, newId, newId, cancellationToken).ConfigureAwait(false);
                return committed;
            }

            await CallAsync(db => db.KeyDeleteAsync(newKey), "rotate", cancellationToken).ConfigureAwait(false);
            if (retired == -1)
            {
                // Revoked or expired while we copied it: the copy is gone too, as the old id is.
                return SessionCommitResult.NotFound;
            }

            Log.RotationRetried(_logger, attempt + 1);
        }

        return SessionCommitResult.Conflict;
    }

    private async ValueTask<bool> RevokeCoreAsync(string id, string? requiredUser, CancellationToken cancellationToken)
    {
        var result = await RunWriteAsync(RedisScripts.Revoke, SessionKey(id), [Now(), requiredUser ?? string.Empty], "revoke", static r => !r.IsNull, cancellationToken).ConfigureAwait(false);
        if (result.IsNull)
        {
            return false;
        }

        var reply = (RedisResult[])result!;
        var user = (string?)reply[1];
        if (requiredUser is null && !string.IsNullOrEmpty(user))
        {
            await RemoveFromUserIndexAsync(user, id, cancellationToken).ConfigureAwait(false);
        }

        return (long)reply[0] == 1;
    }

    private async Task<bool> RevokeOneAsync(string id, string userId, CancellationToken cancellationToken)
        => await RevokeCoreAsync(id, userId, cancellationToken).ConfigureAwait(false);

    /// <summary>Adds a session to its user's index, and prunes ids whose session is gone.</summary>
    private async ValueTask AddToUserIndexAsync(string userId, string id, CancellationToken cancellationToken)
    {
        var userKey = UserKey(userId);
        var ttl = (long)_options.AbsoluteLifetime.TotalMilliseconds;
        var members = (RedisValue[])(await RunAsync(RedisScripts.IndexAdd, userKey, [id, ttl], "bind", cancellationToken).ConfigureAwait(false))!;
        if (members.Length <= 1)
        {
            return;
        }

        var others = members.Where(m => m != id).ToArray();
        var exists = await CallAsync(
            db => Task.WhenAll(others.Select(m => SessionIds.IsWellFormed(m) ? db.KeyExistsAsync(SessionKey(m!)) : Task.FromResult(false))),
            "bind",
            cancellationToken).ConfigureAwait(false);
        var dead = others.Where((_, i) => !exists[i]).ToArray();
        if (dead.Length > 0)
        {
            await CallAsync(db => db.SetRemoveAsync(userKey, dead), "bind", cancellationToken).ConfigureAwait(false);
            Log.UserIndexPruned(_logger, dead.Length);
        }
    }

    private async ValueTask RemoveFromUserIndexAsync(string userId, string id, CancellationToken cancellationToken)
        => await CallAsync(db => db.SetRemoveAsync(UserKey(userId), id), "unbind", cancellationToken).ConfigureAwait(false);

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

    private async Task<RedisResult> RunAsync(RedisScript script, RedisKey key, RedisValue[] args, string operation, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            var redis = await _connection.GetAsync().ConfigureAwait(false);
            return await script.EvaluateAsync(redis.GetDatabase(), key, args, _logger).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            throw Unavailable(operation, e);
        }
    }

    /// <summary>
    /// Runs a script that may write and, when <see cref="RedisSessionStoreOptions.RequireReplicaAcks"/> is set, waits for
    /// the replicas in the same round trip. <paramref name="wrote"/> tells from the reply whether anything was written:
    /// a missing acknowledgement fails only a write, never a refused commit.
    /// </summary>
    private async Task<RedisResult> RunWriteAsync(RedisScript script, RedisKey key, RedisValue[] args, string operation, Func<RedisResult, bool> wrote, CancellationToken cancellationToken)
    {
        var required = _options.RequireReplicaAcks;
        if (required == 0)
        {
            return await RunAsync(script, key, args, operation, cancellationToken).ConfigureAwait(false);
        }

        cancellationToken.ThrowIfCancellationRequested();
        RedisResult result;
        long acknowledged;
        try
        {
            var redis = await _connection.GetAsync().ConfigureAwait(false);
            var server = redis.GetServer(key, flags: CommandFlags.DemandMaster);
            if (!Volatile.Read(ref _waitSupported))
            {
                await EnsureWaitSupportedAsync(server).ConfigureAwait(false);
            }

            (result, acknowledged) = await script.EvaluateAndWaitAsync(
                redis.GetDatabase(), server, key, args, required, (long)_options.ReplicaAckTimeout.TotalMilliseconds, _logger).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            throw Unavailable(operation, e);
        }

        if (acknowledged < required && wrote(result))
        {
            var endpoints = _connection.Endpoints;
            Log.ReplicaAcksMissing(_logger, operation, endpoints, acknowledged, required, _options.ReplicaAckTimeout);
            throw new ReplicaAcknowledgementException(
                $"Redis at {endpoints} applied the {operation}, but only {acknowledged} of {required} required replicas acknowledged it within "
                + $"{_options.ReplicaAckTimeout.TotalMilliseconds} ms (RedisSessionStoreOptions.RequireReplicaAcks). The write is not undone: it may "
                + "still replicate, or be lost if the primary fails now, so it is not reported as saved. Check the replicas (INFO replication).",
                required,
                (int)acknowledged);
        }

        return result;
    }

    /// <summary>Asks the server once, before the first write, whether it knows WAIT: without it nothing could ever be confirmed.</summary>
    private async Task EnsureWaitSupportedAsync(IServer server)
    {
        try
        {
            // WAIT 0 returns at once with the number of replicas in sync: nothing to wait for, only the command to recognise.
            await server.ExecuteAsync("WAIT", 0, 1).ConfigureAwait(false);
        }
        catch (RedisServerException e) when (e.Message.Contains("unknown command", StringComparison.OrdinalIgnoreCase))
        {
            var endpoints = _connection.Endpoints;
            Log.WaitNotSupported(_logger, _options.RequireReplicaAcks, endpoints, e);
            throw new NotSupportedException(
                $"RedisSessionStoreOptions.RequireReplicaAcks is {_options.RequireReplicaAcks}, but the server at {endpoints} does not support WAIT "
                + $"({e.Message}); Garnet and some proxies do not. Nothing was written. Use redis-server (or a service with WAIT) with replicas, "
                + "or set RequireReplicaAcks to 0.",
                e);
        }

        Volatile.Write(ref _waitSupported, true);
    }

    private async Task<T> CallAsync<T>(Func<IDatabase, Task<T>> call, string operation, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            var redis = await _connection.GetAsync().ConfigureAwait(false);
            return await call(redis.GetDatabase()).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            throw Unavailable(operation, e);
        }
    }

    private SessionStoreUnavailableException Unavailable(string operation, Exception e)
    {
        var endpoints = _connection.Endpoints;
        Log.Unavailable(_logger, endpoints, operation, e);
        return new SessionStoreUnavailableException(
            $"Redis at {endpoints} failed during {operation}; nothing of this operation is known to have been written. {e.Message}",
            e);
    }
}
