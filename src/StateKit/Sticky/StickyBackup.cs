using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using StateKit.Caching;
using StateKit.Diagnostics;
using StateKit.Events;
using StateKit.Memory;

namespace StateKit.Sticky;

/// <summary>
/// A sticky store's copy of its sessions in the backup store: creating a session there first (the backup mints the id),
/// moving it to a new id, taking one over from it, deleting from it ahead of the node, copying changes behind the request
/// (<see cref="BackupReplicator"/>), the drain (each session moved to the backup once, then dropped from memory), and
/// the requests a draining node answers through the backup.
/// </summary>
internal sealed class StickyBackup : IAsyncDisposable
{
    private readonly SessionTable _table;
    private readonly ISessionStore _backup;
    private readonly StickySessionStoreOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly KeyValuePair<string, object?> _storeTag;
    private readonly long _maxPayloadBytes;
    private readonly Func<string, string> _issue;
    private readonly Func<SessionInvalidation, CancellationToken, ValueTask> _announce;

    // Session id -> its move to the backup, once the drain has started: a request and the drain's own pass share one
    // move, so no older copy is written after a newer one. Failed moves leave the map, to be retried.
    private readonly ConcurrentDictionary<string, Task<SessionCommitOutcome>> _migrations = new(StringComparer.Ordinal);

    // Opened once the write-behind loop has stopped: no replication of an older copy can then land after a move.
    private readonly TaskCompletionSource _migrationsOpen = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stopping = new();

    /// <param name="table">The node's sessions.</param>
    /// <param name="backup">The server-side store that keeps the copies.</param>
    /// <param name="options">The sticky store's settings.</param>
    /// <param name="time">The clock.</param>
    /// <param name="logger">The sticky store's logger.</param>
    /// <param name="storeTag">The sticky store's telemetry tag.</param>
    /// <param name="maxPayloadBytes">The smaller of the node's and the backup's payload limits.</param>
    /// <param name="issue">Signs a ticket in this node's name for a session id.</param>
    /// <param name="announce">Tells the other nodes that a session was deleted, so that none keeps serving a copy.</param>
    public StickyBackup(SessionTable table, ISessionStore backup, StickySessionStoreOptions options, TimeProvider time, ILogger logger, KeyValuePair<string, object?> storeTag, long maxPayloadBytes, Func<string, string> issue, Func<SessionInvalidation, CancellationToken, ValueTask> announce)
    {
        _announce = announce;
        _table = table;
        _backup = backup;
        _options = options;
        _time = time;
        _logger = logger;
        _storeTag = storeTag;
        _maxPayloadBytes = maxPayloadBytes;
        _issue = issue;
        Replicator = new BackupReplicator(table, backup, options, time, logger, storeTag);
        Lister = backup.Capabilities.ListsUserSessions ? backup as ISessionLister : null;
    }

    /// <summary>Gets the write-behind copy of changes.</summary>
    public BackupReplicator Replicator { get; }

    /// <summary>Gets the backup's listing of user sessions (its user index), or <see langword="null"/> when it keeps none.</summary>
    public ISessionLister? Lister { get; }

    /// <summary>
    /// Creates a session in the backup, then here under the backup's id unless <paramref name="inMemory"/> is false (a
    /// draining node keeps nothing), and issues its ticket, naming this node.
    /// </summary>
    public async ValueTask<SessionCommitResult> CreateAsync(SessionCommit commit, bool inMemory, CancellationToken cancellationToken)
    {
        // The backup mints the id, so every node can find the copy by the id in the ticket: one synchronous write per new session.
        var values = SessionPayload.Apply(null, commit);
        if (values.Count == 0)
        {
            return SessionCommitResult.NoChange;
        }

        CheckPayload(values);
        return await CommitToBackupAsync(commit, inBackup => ValueTask.FromResult(Created(inBackup, commit, values, inMemory)), cancellationToken).ConfigureAwait(false);
    }

    private SessionCommitResult Created(SessionCommitResult inBackup, SessionCommit commit, Dictionary<string, ReadOnlyMemory<byte>> values, bool inMemory)
    {
        if (inBackup.Outcome != SessionCommitOutcome.Committed)
        {
            return inBackup;
        }

        if (!inMemory)
        {
            var id = BackupId(inBackup);
            return inBackup with { SessionId = id, Ticket = _issue(id) };
        }

        var now = _time.GetUtcNow();
        var session = _table.Import(new SessionSnapshot(BackupId(inBackup), inBackup.Version, values)
        {
            CreatedAt = now,
            LastAccessedAt = now,
            AbsoluteExpiresAt = now + _options.AbsoluteLifetime,
            IdleTimeout = _options.IdleTimeout,
            UserId = commit.BindUserId,
        });
        Replicator.MarkRefreshed(session.Id);
        return SessionCommitResult.Committed(session, _issue(session.Id));
    }

    /// <summary>
    /// Commits under the id a verified ticket names: a session no longer in this node's memory is taken over from the
    /// backup first; deletions reach the backup before the node, rotations move the backup copy, and other changes are
    /// copied behind the request. A ticket that named another node (<paramref name="foreign"/>) is re-issued in this one's.
    /// </summary>
    public async ValueTask<SessionCommitResult> CommitAsync(SessionCommit commit, string id, bool foreign, CancellationToken cancellationToken)
    {
        var current = _table.Peek(id) ?? await RehydrateAsync(id, foreign, cancellationToken).ConfigureAwait(false);
        if (current is null)
        {
            return SessionCommitResult.NotFound;
        }

        var stale = commit.Mode == SessionCommitMode.RequireBaseVersion && commit.Base is not null && commit.Base.Version != current.Version;
        if (commit.Revoke || (!stale && Empties(current, commit)))
        {
            // Deleted in the backup first, so that no node can take over what this one deletes; then every node that
            // still holds a copy (a former owner the proxy bypassed) is told to drop it.
            await DeleteAsync(id, cancellationToken).ConfigureAwait(false);
            var deleted = _table.Commit(commit, id, rotateId: false);
            await _announce(new SessionInvalidation(id, long.MaxValue), cancellationToken).ConfigureAwait(false);
            return deleted;
        }

        if (!stale && (commit.RotateId || commit.BindUserId is not null))
        {
            return await WriteThroughAsync(commit, id, current, foreign, cancellationToken).ConfigureAwait(false);
        }

        var result = _table.Commit(commit, id, commit.RotateId);
        if (result.Outcome != SessionCommitOutcome.Committed)
        {
            return result;
        }

        await Replicator.EnqueueAsync(id, cancellationToken).ConfigureAwait(false);

        // A new inner ticket (rotation), or a ticket naming another node: the client carries one in this node's name.
        return result.Ticket is not null || foreign ? result with { Ticket = _issue(result.SessionId!) } : result;
    }

    /// <summary>
    /// A sign-in (a user bound) or an id rotation: the backup has its say before this node applies the commit. The backup
    /// enforces MaxSessionsPerUser (a refusal leaves this node's copy as it was), keeps the sign-in metadata a listing shows,
    /// and rotates its copy itself, so that a session ended there meanwhile is not brought back under a new id and a
    /// rotation is not counted as one more sign-in. It gets the whole session with this request's changes applied.
    /// </summary>
    private async ValueTask<SessionCommitResult> WriteThroughAsync(SessionCommit commit, string id, SessionSnapshot current, bool foreign, CancellationToken cancellationToken)
    {
        var values = SessionPayload.Apply(current.Values, commit);
        CheckPayload(values);
        var whole = new SessionCommit
        {
            Ticket = id,
            Upserts = values,
            ClearExisting = true,
            RotateId = commit.RotateId,
            BindUserId = commit.BindUserId,
            SignInMetadata = commit.SignInMetadata,
        };
        return await CommitToBackupAsync(whole, written => ApplyWrittenAsync(commit, id, foreign, written, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Applies here a commit the backup has judged (<paramref name="written"/>): moved to the backup's new id for a rotation.</summary>
    private async ValueTask<SessionCommitResult> ApplyWrittenAsync(SessionCommit commit, string id, bool foreign, SessionCommitResult written, CancellationToken cancellationToken)
    {
        switch (written.Outcome)
        {
            case SessionCommitOutcome.Committed:
                break;
            case SessionCommitOutcome.NotFound:
                // Ended in the backup (revoked on another node, whose message has not arrived): not served here either.
                _table.Remove(id);
                Replicator.Forget(id);
                return SessionCommitResult.NotFound;
            default:
                // Refused (SessionLimitReached): nothing changed, here or there.
                return written;
        }

        var newId = commit.RotateId ? BackupId(written) : id;
        var local = _table.Commit(commit, id, rotateId: false);
        if (local.Outcome != SessionCommitOutcome.Committed || (newId != id && _table.Peek(id) is null))
        {
            // This node's copy changed or went meanwhile: the backup's, which this commit wrote whole, is the session now,
            // taken over at its next request.
            _table.Remove(id);
            Replicator.Forget(id);
            if (newId != id)
            {
                await _announce(new SessionInvalidation(id, long.MaxValue), cancellationToken).ConfigureAwait(false);
            }

            return written with { SessionId = newId, Ticket = newId != id || foreign ? _issue(newId) : null };
        }

        if (newId == id)
        {
            // Queued as well, in case an older write of the loop lands after this one.
            await Replicator.EnqueueAsync(id, cancellationToken).ConfigureAwait(false);
            return foreign ? local with { Ticket = _issue(id) } : local;
        }

        var session = _table.Peek(id)!;
        _table.Remove(id);
        Replicator.Forget(id);
        var rotated = _table.Import(new SessionSnapshot(newId, session.Version, session.Values)
        {
            CreatedAt = session.CreatedAt,
            LastAccessedAt = session.LastAccessedAt,
            AbsoluteExpiresAt = session.AbsoluteExpiresAt,
            IdleTimeout = session.IdleTimeout,
            UserId = session.UserId,
        });
        Replicator.MarkRefreshed(newId);

        // The backup got the state this request read; a change another request made here meanwhile follows behind.
        await Replicator.EnqueueAsync(newId, cancellationToken).ConfigureAwait(false);

        // A node still holding the old id (a former owner) must not serve the ticket rotated away from.
        await _announce(new SessionInvalidation(id, long.MaxValue), cancellationToken).ConfigureAwait(false);
        return SessionCommitResult.Committed(rotated, _issue(newId));
    }

    /// <summary>
    /// Commits to the backup, then applies the result here (<paramref name="apply"/>). A sign-in (a user bound) is more: the
    /// backup enforces MaxSessionsPerUser (its own options) and may sign other sessions of the user out to make room, which
    /// it reports (<see cref="SessionCommitResult.SignedOutSessionIds"/>), and whoever owns one must stop serving it. So the
    /// backup's last-active times for this node's sessions of the user are brought up to date first (the least recently
    /// active goes), and each session it signed out is ended here and, over the bus, on every node.
    /// </summary>
    /// <param name="commit">The commit for the backup.</param>
    /// <param name="apply">Applies the backup's result to this node, and returns the commit's result.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    private async ValueTask<SessionCommitResult> CommitToBackupAsync(SessionCommit commit, Func<SessionCommitResult, ValueTask<SessionCommitResult>> apply, CancellationToken cancellationToken)
    {
        if (commit.BindUserId is not { } userId || Lister is null)
        {
            return await apply(await _backup.CommitAsync(commit, cancellationToken).ConfigureAwait(false)).ConfigureAwait(false);
        }

        await Replicator.FlushAsync(_table.SessionIdsOf(userId), cancellationToken).ConfigureAwait(false);
        var ends = _table.UserEndsOf(userId);
        var inBackup = await _backup.CommitAsync(commit, cancellationToken).ConfigureAwait(false);
        var result = await apply(inBackup).ConfigureAwait(false);
        if (_table.UserEndsOf(userId) != ends)
        {
            await DropIfEndedInBackupAsync(result, cancellationToken).ConfigureAwait(false);
        }

        foreach (var signedOut in inBackup.SignedOutSessionIds)
        {
            var publicId = SessionIds.ToPublicId(signedOut);
            Log.StickyUserSessionSignedOutByLimit(_logger, _options.NodeId);
            RemoveUserSessionHere(userId, publicId, SessionEventReason.SessionLimit);
            await _announce(StickyUserSessionMessage.Ended(userId, publicId, SessionEventReason.SessionLimit), cancellationToken).ConfigureAwait(false);
        }

        return result;
    }

    /// <summary>
    /// A session of the signing-in user was ended (another sign-in's limit, a listing's revoke, "sign out everywhere") while
    /// this sign-in's session was in the backup but not yet here: that end may have named it and found nothing to remove.
    /// The backup decides; a session it no longer has is dropped here too. Any end that comes after the session is here
    /// finds it, so this is the only window.
    /// </summary>
    private async ValueTask DropIfEndedInBackupAsync(SessionCommitResult result, CancellationToken cancellationToken)
    {
        if (result.Outcome != SessionCommitOutcome.Committed || result.SessionId is not { } id || _table.Peek(id) is null)
        {
            return;
        }

        if (await _backup.LoadAsync(id, cancellationToken).ConfigureAwait(false) is null)
        {
            Replicator.Forget(id);
            _table.Remove(id);
        }
    }

    /// <summary>One page of the backup's listing, after this node's queued writes of the user's sessions (first page only).</summary>
    public async ValueTask<UserSessionPage> ListUserSessionsAsync(string userId, string? continuationToken, int pageSize, CancellationToken cancellationToken)
    {
        if (continuationToken is null)
        {
            await Replicator.FlushAsync(_table.SessionIdsOf(userId), cancellationToken).ConfigureAwait(false);
        }

        return await Lister!.ListUserSessionsAsync(userId, continuationToken, pageSize, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Ends a session of a user named by its public id: in the backup first (no node can take it over after), then this
    /// node's copy, then every other node's, told on the bus.
    /// </summary>
    public async ValueTask<bool> RevokeUserSessionAsync(string userId, string publicId, CancellationToken cancellationToken)
    {
        var inBackup = await Lister!.RevokeUserSessionAsync(userId, publicId, cancellationToken).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        var here = RemoveUserSessionHere(userId, publicId, SessionEventReason.RevokedById);
        if (inBackup || here)
        {
            await _announce(StickyUserSessionMessage.Ended(userId, publicId, SessionEventReason.RevokedById), cancellationToken).ConfigureAwait(false);
        }

        return inBackup || here;
    }

    /// <summary>Drops this node's copy of a user's session named by its public id, found through the node's user index.</summary>
    public bool RemoveUserSessionHere(string userId, string publicId, SessionEventReason reason)
    {
        // Asked of the table even when it holds no such session: the ask is counted, for a sign-in whose copy is on its way.
        if (_table.IdOfUserSession(userId, publicId) is { } id)
        {
            Replicator.Forget(id);
        }

        return _table.RemoveUserSession(userId, publicId, reason);
    }

    /// <summary>
    /// Takes a session over from the backup into this node's memory; <see langword="null"/> when the backup has no copy,
    /// counted as lost when the ticket named another node (<paramref name="foreign"/>).
    /// </summary>
    public async ValueTask<SessionSnapshot?> RehydrateAsync(string sessionId, bool foreign, CancellationToken cancellationToken)
    {
        SessionSnapshot? session = null;
        for (var attempt = 0; session is null; attempt++)
        {
            // A revocation deletes the backup copy before it removes copies from memory: a copy read before a removal
            // may be of a revoked session, so it is read again. Under a storm of revocations, no session beats a revoked one.
            if (attempt == StateKitDefaults.StickyRehydrateAttempts)
            {
                return null;
            }

            var removals = _table.Removals;
            var copy = await _backup.LoadAsync(sessionId, cancellationToken).ConfigureAwait(false);
            if (copy is null)
            {
                if (foreign)
                {
                    Lost("not_in_backup");
                }

                return null;
            }

            session = _table.ImportUnlessRemovedSince(copy, removals);
        }
        Replicator.MarkRefreshed(session.Id);
        StateKitTelemetry.SessionsRehydrated.Add(1, _storeTag);
        _table.Events?.Raise(SessionEventKinds.Rehydrated, SessionEventReason.TakenFromBackup, session.Id, session.UserId);
        Log.StickySessionRehydrated(_logger, foreign ? "owner node gone or bypassed" : "no longer in this node's memory");
        return session;
    }

    /// <summary>Deletes a session's copy, and forgets any replication of it still due.</summary>
    public async ValueTask<bool> DeleteAsync(string id, CancellationToken cancellationToken)
    {
        Replicator.Forget(id);
        if (_backup.Capabilities.Revocation.HasFlag(RevocationSupport.ById))
        {
            return await _backup.RevokeAsync(id, cancellationToken).ConfigureAwait(false);
        }

        var result = await _backup.CommitAsync(new SessionCommit { Ticket = id, Revoke = true }, cancellationToken).ConfigureAwait(false);
        return result.Outcome == SessionCommitOutcome.Deleted;
    }

    /// <summary>
    /// Revokes a user's copies: through the backup's user index when it has one (every node's sessions of that user),
    /// else one by one, the sessions this node holds (<paramref name="localIds"/>). Returns how many the backup revoked.
    /// </summary>
    public async ValueTask<int> RevokeUserAsync(string userId, List<string> localIds, CancellationToken cancellationToken)
    {
        foreach (var id in localIds)
        {
            Replicator.Forget(id);
        }

        if (_backup.Capabilities.Revocation.HasFlag(RevocationSupport.ByUser))
        {
            return await _backup.RevokeUserAsync(userId, cancellationToken).ConfigureAwait(false);
        }

        var revoked = 0;
        foreach (var id in localIds)
        {
            revoked += await DeleteAsync(id, cancellationToken).ConfigureAwait(false) ? 1 : 0;
        }

        return revoked;
    }

    /// <summary>
    /// Waits for the requests still served from memory (<paramref name="quiesce"/>), stops write-behind replication, then
    /// moves every live session of the node to the backup and drops it from memory, within the drain timeout.
    /// </summary>
    /// <returns>What the pass did, and whether it ran to its end (every session reached, none failed).</returns>
    public async Task<(StickyDrainResult Result, bool Complete)> DrainAsync(long started, Func<CancellationToken, Task> quiesce, CancellationToken cancellationToken)
    {
        using var deadline = new CancellationTokenSource(_options.DrainTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, cancellationToken);
        var token = linked.Token;
        List<SessionSnapshot>? live = null;
        var flushed = 0;
        var failed = 0;
        try
        {
            await quiesce(token).ConfigureAwait(false);
            await Replicator.StopForDrainAsync(token).ConfigureAwait(false);

            // Listed before requests may move sessions, so that the ones they move are counted too (their move is shared).
            live = _table.LiveSessions();
            _migrationsOpen.TrySetResult();
            await Parallel.ForEachAsync(
                live,
                new ParallelOptions { MaxDegreeOfParallelism = StateKitDefaults.StickyDrainParallelism, CancellationToken = token },
                async (session, ct) =>
                {
                    try
                    {
                        var outcome = await MigrateAsync(session.Id, ct).ConfigureAwait(false);

                        // NoChange: a request moved it first, or it ended meanwhile (revoked, expired): nothing left here.
                        Interlocked.Increment(ref outcome is SessionCommitOutcome.Committed or SessionCommitOutcome.NoChange ? ref flushed : ref failed);
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        Interlocked.Increment(ref failed);
                        Log.StickyBackupWriteFailed(_logger, e);
                    }
                }).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The deadline passed: what was not reached is reported as Remaining.
        }

        var result = new StickyDrainResult
        {
            Sessions = live?.Count ?? _table.LiveSessions().Count,
            Flushed = flushed,
            Failed = failed,
            Elapsed = _time.GetElapsedTime(started),
            HasBackup = true,
        };
        Log.StickyDrained(_logger, _options.NodeId, result.Flushed, result.Sessions, (long)result.Elapsed.TotalMilliseconds, result.Failed, result.Remaining);

        // Complete when nothing is left in memory: a session whose move failed (or was not reached) stays, and a
        // later drain retries it.
        return (result, live is not null && _table.LiveSessions().Count == 0);
    }

    /// <summary>
    /// A draining node's load: the session's own copy in memory, if any, is moved to the backup first (or its move,
    /// already under way, awaited); then the backup's copy is read, and nothing is kept here.
    /// </summary>
    public async ValueTask<SessionSnapshot?> LoadThroughAsync(string id, bool foreign, CancellationToken cancellationToken)
    {
        await MigrateAsync(id, cancellationToken).ConfigureAwait(false);
        var copy = await _backup.LoadAsync(id, cancellationToken).ConfigureAwait(false);
        if (copy is null && foreign)
        {
            Lost("not_in_backup");
        }

        return copy;
    }

    /// <summary>
    /// A draining node's commit: written to the backup before it returns, after the session's copy in memory (if any)
    /// has moved there. Nothing is kept here, and the ticket keeps naming the node it names: a draining node takes no
    /// session over.
    /// </summary>
    public async ValueTask<SessionCommitResult> CommitThroughAsync(SessionCommit commit, string id, bool foreign, CancellationToken cancellationToken)
    {
        await MigrateAsync(id, cancellationToken).ConfigureAwait(false);
        if (commit.Revoke)
        {
            var deleted = await DeleteAsync(id, cancellationToken).ConfigureAwait(false);
            await _announce(new SessionInvalidation(id, long.MaxValue), cancellationToken).ConfigureAwait(false);
            return deleted ? SessionCommitResult.Deleted : SessionCommitResult.NotFound;
        }

        // A request that loaded from memory before the drain carries this node's version, not the backup's: a
        // read-modify-write cannot be judged against the backup, so it is refused as a conflict (the caller reloads).
        if (commit.Mode == SessionCommitMode.RequireBaseVersion && commit.Base?.TableEntry is not null)
        {
            return SessionCommitResult.Conflict;
        }

        return await CommitToBackupAsync(commit.Retarget(id, commit.RotateId), result => AfterThroughAsync(result, id, foreign, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask<SessionCommitResult> AfterThroughAsync(SessionCommitResult result, string id, bool foreign, CancellationToken cancellationToken)
    {
        switch (result.Outcome)
        {
            case SessionCommitOutcome.Committed when result.Ticket is not null:
                // A rotation: the backup moved the session to a new id, signed here; the old id is announced gone.
                var newId = BackupId(result);
                await _announce(new SessionInvalidation(id, long.MaxValue), cancellationToken).ConfigureAwait(false);
                return result with { SessionId = newId, Ticket = _issue(newId) };
            case SessionCommitOutcome.Deleted:
                await _announce(new SessionInvalidation(id, long.MaxValue), cancellationToken).ConfigureAwait(false);
                return result;
            case SessionCommitOutcome.NotFound when foreign:
                Lost("not_in_backup");
                return result;
            default:
                return result;
        }
    }

    /// <summary>
    /// Moves a session from memory to the backup, once: the whole session is written under its id, then dropped here.
    /// <see cref="SessionCommitOutcome.NoChange"/> when this node holds no copy (never did, or moved it already).
    /// </summary>
    private async Task<SessionCommitOutcome> MigrateAsync(string id, CancellationToken cancellationToken)
    {
        await _migrationsOpen.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        while (true)
        {
            if (_migrations.TryGetValue(id, out var running))
            {
                return await running.WaitAsync(cancellationToken).ConfigureAwait(false);
            }

            // Looked up after the map: a move that completed between the two has already dropped the copy.
            if (_table.Peek(id) is null)
            {
                return SessionCommitOutcome.NoChange;
            }

            var move = new TaskCompletionSource<SessionCommitOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (_migrations.TryAdd(id, move.Task))
            {
                // Not bound to this request's token: other requests and the drain wait on the same move.
                _ = MoveAsync(id, move);
                return await move.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task MoveAsync(string id, TaskCompletionSource<SessionCommitOutcome> move)
    {
        try
        {
            var outcome = SessionCommitOutcome.NoChange;
            if (_table.Peek(id) is { } session)
            {
                outcome = await Replicator.WriteAsync(session, _stopping.Token).ConfigureAwait(false);
                if (outcome is SessionCommitOutcome.Committed or SessionCommitOutcome.NotFound)
                {
                    // Written (or ended in the backup meanwhile): this node never serves its copy again.
                    _table.Remove(id);
                    Replicator.Forget(id);
                    if (outcome == SessionCommitOutcome.Committed)
                    {
                        _table.Events?.Raise(SessionEventKinds.Migrated, SessionEventReason.MovedToBackup, id, session.UserId);
                    }
                }
                else
                {
                    _migrations.TryRemove(id, out _);
                }
            }

            move.TrySetResult(outcome);
        }
        catch (Exception e)
        {
            // The copy stays in memory, and the next request or drain moves it again.
            _migrations.TryRemove(id, out _);
            move.TrySetException(e);
        }
    }

    /// <inheritdoc cref="BackupReplicator.DisposeAsync"/>
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await Replicator.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    // Whether the commit leaves the session without keys. A commit that writes a key never does: answered without
    // building the session's next values, which the node's table builds anyway.
    private static bool Empties(SessionSnapshot current, SessionCommit commit)
        => commit.Upserts.Count == 0
            && (commit.ClearExisting || (commit.Removals.Count > 0 && SessionPayload.Apply(current.Values, commit).Count == 0));

    private static string BackupId(SessionCommitResult result)
    {
        var id = result.Ticket ?? result.SessionId;
        return SessionIds.IsWellFormed(id)
            ? id!
            : throw new InvalidOperationException(
                "The backup store issued a ticket that is not an opaque 128-bit session id; a sticky store's backup must be a server-side store whose tickets are its session ids (Redis, a distributed cache).");
    }

    private void Lost(string reason)
    {
        StateKitTelemetry.SessionsLost.Add(1, _storeTag, new(StateKitTelemetry.ReasonTag, reason));
        Log.StickySessionLost(_logger, reason);
    }

    private void CheckPayload(IReadOnlyDictionary<string, ReadOnlyMemory<byte>> values)
    {
        var size = SessionPayload.Size(values);
        try
        {
            SessionPayloadTooLargeException.ThrowIfOver(size, _maxPayloadBytes);
        }
        catch (SessionPayloadTooLargeException e)
        {
            Log.PayloadTooLarge(_logger, e.Size, e.Limit);
            throw;
        }
    }
}
