using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using StateKit.Diagnostics;
using StateKit.Memory;

namespace StateKit.Sticky;

/// <summary>
/// Write-behind replication of a sticky store's sessions to its backup store: a bounded queue of session ids, each
/// queued at most once however often it changes (coalescing), and one background loop that takes up to
/// <see cref="StateKitDefaults.StickyReplicationParallelism"/> sessions at a time and writes each one's latest state,
/// read from memory at write time, as a whole, all of them concurrently.
/// </summary>
internal sealed class BackupReplicator : IAsyncDisposable
{
    private readonly SessionTable _table;
    private readonly ISessionStore _backup;
    private readonly StickySessionStoreOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly KeyValuePair<string, object?> _storeTag;
    private readonly Channel<string> _queue;
    private readonly Lock _gate = new();

    // Session id -> timestamp of its first queued change: the pending set that makes the queue coalesce.
    private readonly Dictionary<string, long> _pending = new(StringComparer.Ordinal);

    // Session id -> when its backup copy was last written or read: read-only sessions are refreshed before the backup expires them.
    private readonly Dictionary<string, DateTimeOffset> _refreshedAt = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();

    // The sessions the loop is writing now, and the task that ends when it is done: a flush waits for it rather than
    // write the same session at once (an older copy could land last).
    private readonly HashSet<string> _batchIds = new(StringComparer.Ordinal);
    private Task _batchWritten = Task.CompletedTask;

    // The sessions a flush is writing, and when each is written: the loop waits for one before it writes the same
    // session again, so two writes of one session are never in flight at once.
    private readonly Dictionary<string, Task> _flushing = new(StringComparer.Ordinal);
    private readonly Task _worker;
    private volatile bool _draining;
    private int _writing;

    public BackupReplicator(SessionTable table, ISessionStore backup, StickySessionStoreOptions options, TimeProvider time, ILogger logger, KeyValuePair<string, object?> storeTag)
    {
        _table = table;
        _backup = backup;
        _options = options;
        _time = time;
        _logger = logger;
        _storeTag = storeTag;
        _queue = Channel.CreateBounded<string>(new BoundedChannelOptions(options.BackupQueueCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _worker = Task.Run(RunAsync);
    }

    /// <summary>Gets how many sessions wait for replication.</summary>
    public int QueueLength
    {
        get
        {
            lock (_gate)
            {
                return _pending.Count;
            }
        }
    }

    /// <summary>Gets how many replications are queued or being written: 0 once the backup has caught up.</summary>
    internal int InFlight => QueueLength + Volatile.Read(ref _writing);

    /// <summary>Queues a session for replication, unless it is queued already.</summary>
    public ValueTask EnqueueAsync(string sessionId, CancellationToken cancellationToken)
    {
        if (_draining)
        {
            return ValueTask.CompletedTask;
        }

        lock (_gate)
        {
            // Coalescing: the worker reads the latest state when it writes, so one queued id covers every change.
            if (!_pending.TryAdd(sessionId, _time.GetTimestamp()))
            {
                return ValueTask.CompletedTask;
            }
        }

        if (_queue.Writer.TryWrite(sessionId))
        {
            StateKitTelemetry.BackupQueueLength.Add(1, _storeTag);
            return ValueTask.CompletedTask;
        }

        return _options.BackupQueueFullMode == StickyBackupQueueFullMode.Wait && _options.BackupQueueFullTimeout > TimeSpan.Zero
            ? WaitForRoomAsync(sessionId, cancellationToken)
            : Dropped(sessionId);
    }

    /// <summary>Queues a session that was only read, when its backup copy has not been refreshed for <see cref="StickySessionStoreOptions.BackupRefreshInterval"/>.</summary>
    public ValueTask RefreshIfDueAsync(string sessionId, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            if (_refreshedAt.TryGetValue(sessionId, out var at) && now - at < _options.RefreshInterval)
            {
                return ValueTask.CompletedTask;
            }
        }

        return EnqueueAsync(sessionId, cancellationToken);
    }

    /// <summary>Records that the backup copy is fresh (written, created, or just read by a rehydration).</summary>
    public void MarkRefreshed(string sessionId)
    {
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            _refreshedAt[sessionId] = now;
            if (_refreshedAt.Count > _options.MaxSessions)
            {
                // Bounded like the store: forget entries old enough to be due anyway; a forgotten one only costs an early refresh.
                var due = now - _options.RefreshInterval;
                var stale = new List<string>();
                foreach (var (id, at) in _refreshedAt)
                {
                    if (at <= due)
                    {
                        stale.Add(id);
                    }
                }

                foreach (var id in stale)
                {
                    _refreshedAt.Remove(id);
                }

                if (_refreshedAt.Count > _options.MaxSessions)
                {
                    _refreshedAt.Clear();
                }
            }
        }
    }

    /// <summary>
    /// Makes every session's backup copy due for a refresh: the next request of each session queues a write, which finds
    /// out whether the backup still has it. After the revocation feed may have lost messages.
    /// </summary>
    public void ForgetRefreshes()
    {
        lock (_gate)
        {
            _refreshedAt.Clear();
        }
    }

    /// <summary>Forgets a deleted session: nothing of it is left to replicate.</summary>
    public void Forget(string sessionId)
    {
        lock (_gate)
        {
            _refreshedAt.Remove(sessionId);
            if (_pending.Remove(sessionId))
            {
                StateKitTelemetry.BackupQueueLength.Add(-1, _storeTag);
            }
        }
    }

    /// <summary>
    /// Writes the whole state of a session the backup has already (created and bound first, synchronously) under its id.
    /// <see cref="SessionCommitOutcome.NotFound"/> means the backup no longer has it.
    /// </summary>
    /// <remarks>
    /// Binds no user: the binding reached the backup when it was made, and binding again would replace the sign-in metadata
    /// the backup keeps for the listing.
    /// </remarks>
    public async ValueTask<SessionCommitOutcome> WriteAsync(SessionSnapshot session, CancellationToken cancellationToken)
    {
        var result = await _backup.CommitAsync(
            new SessionCommit
            {
                Ticket = session.Id,
                Upserts = session.Values,
                ClearExisting = true,
            },
            cancellationToken).ConfigureAwait(false);
        if (result.Outcome == SessionCommitOutcome.Committed)
        {
            MarkRefreshed(session.Id);
        }

        return result.Outcome;
    }

    /// <summary>
    /// Writes now the replications queued for these sessions, instead of behind the request, and waits for those the loop
    /// is writing: before the backup lists a user's sessions or judges a sign-in against MaxSessionsPerUser, so that the
    /// last-active times it reads for this node's sessions are not a queue behind.
    /// </summary>
    public async ValueTask FlushAsync(List<string> sessionIds, CancellationToken cancellationToken)
    {
        Task? inFlight = null;
        List<(string SessionId, long QueuedAt, TaskCompletionSource Written)>? due = null;
        lock (_gate)
        {
            foreach (var id in sessionIds)
            {
                if (_batchIds.Contains(id))
                {
                    inFlight = _batchWritten;
                }
                else if (!_draining && !_flushing.ContainsKey(id) && _pending.Remove(id, out var queuedAt))
                {
                    // Out of the pending set, the id the channel still holds is skipped by the loop.
                    StateKitTelemetry.BackupQueueLength.Add(-1, _storeTag);
                    var written = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    _flushing[id] = written.Task;
                    (due ??= []).Add((id, queuedAt, written));
                }
            }
        }

        if (inFlight is not null)
        {
            await inFlight.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        foreach (var (id, queuedAt, written) in due ?? [])
        {
            try
            {
                await ReplicateAsync(id, queuedAt, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                lock (_gate)
                {
                    _flushing.Remove(id);
                }

                written.TrySetResult();
            }
        }
    }

    /// <summary>Stops the loop: what is still queued is left for the drain, which writes every live session anyway.</summary>
    public async Task StopForDrainAsync(CancellationToken cancellationToken)
    {
        _draining = true;
        _queue.Writer.TryComplete();
        try
        {
            await _worker.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The deadline passed while a write was in flight; the drain rewrites that session anyway.
        }

        lock (_gate)
        {
            StateKitTelemetry.BackupQueueLength.Add(-_pending.Count, _storeTag);
            _pending.Clear();
        }
    }

    /// <summary>Abandons whatever is queued: what an abrupt stop loses.</summary>
    public async ValueTask DisposeAsync()
    {
        _draining = true;
        _queue.Writer.TryComplete();
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _worker.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        lock (_gate)
        {
            StateKitTelemetry.BackupQueueLength.Add(-_pending.Count, _storeTag);
            _pending.Clear();
        }

        _stop.Dispose();
    }

    private async ValueTask WaitForRoomAsync(string sessionId, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(_options.BackupQueueFullTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
        try
        {
            await _queue.Writer.WriteAsync(sessionId, linked.Token).ConfigureAwait(false);
            StateKitTelemetry.BackupQueueLength.Add(1, _storeTag);
        }
        catch (Exception e) when (e is OperationCanceledException or ChannelClosedException)
        {
            await Dropped(sessionId).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    private ValueTask Dropped(string sessionId)
    {
        lock (_gate)
        {
            _pending.Remove(sessionId);
        }

        CountDropped("queue_full");
        return ValueTask.CompletedTask;
    }

    private void CountDropped(string reason)
    {
        StateKitTelemetry.BackupDropped.Add(1, _storeTag, new(StateKitTelemetry.ReasonTag, reason));
        Log.StickyBackupWriteDropped(_logger, reason);
    }

    private async Task RunAsync()
    {
        var reader = _queue.Reader;
        var stop = _stop.Token;
        var batch = new List<(string SessionId, long QueuedAt)>(StateKitDefaults.StickyReplicationParallelism);
        var writes = new List<Task>(StateKitDefaults.StickyReplicationParallelism);
        while (await reader.WaitToReadAsync(stop).ConfigureAwait(false))
        {
            // Up to StickyReplicationParallelism distinct sessions at a time, written concurrently: against a backup
            // over the network, one write at a time would let the queue grow to every busy session of the node.
            batch.Clear();
            var written = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_gate)
            {
                _batchWritten = written.Task;
                while (batch.Count < StateKitDefaults.StickyReplicationParallelism && reader.TryRead(out var sessionId))
                {
                    // Distinct: an id leaves the pending set here, under the gate, and only the gate lets it back in.
                    // Not pending means forgotten (deleted) after it was queued.
                    if (_pending.Remove(sessionId, out var queuedAt))
                    {
                        StateKitTelemetry.BackupQueueLength.Add(-1, _storeTag);
                        batch.Add((sessionId, queuedAt));
                        _batchIds.Add(sessionId);
                    }
                }

                _writing = batch.Count;
            }

            try
            {
                if (batch.Count > 0 && !_draining)
                {
                    // A session is in at most one batch at a time, and the next batch starts only when this one is
                    // written, so an older copy of a session can never overwrite a newer one in the backup.
                    writes.Clear();
                    foreach (var (sessionId, queuedAt) in batch)
                    {
                        writes.Add(ReplicateAfterFlushAsync(sessionId, queuedAt, stop));
                    }

                    await Task.WhenAll(writes).ConfigureAwait(false);
                }
            }
            finally
            {
                lock (_gate)
                {
                    _batchIds.Clear();
                }

                Volatile.Write(ref _writing, 0);
                written.TrySetResult();
            }
        }
    }

    // The loop's write of a session: after a flush writing the same session, if one is under way.
    private async Task ReplicateAfterFlushAsync(string sessionId, long queuedAt, CancellationToken stop)
    {
        Task? flushing;
        lock (_gate)
        {
            _flushing.TryGetValue(sessionId, out flushing);
        }

        if (flushing is not null)
        {
            await flushing.WaitAsync(stop).ConfigureAwait(false);
        }

        await ReplicateAsync(sessionId, queuedAt, stop).ConfigureAwait(false);
    }

    private async Task ReplicateAsync(string sessionId, long queuedAt, CancellationToken stop)
    {
        // The latest state, read now: every change queued since this id was queued is in it.
        var session = _table.Peek(sessionId);
        if (session is null)
        {
            // Deleted or expired (nothing to copy), or evicted by the memory bound before its turn (the copy stays one write behind).
            CountDropped("evicted");
            return;
        }

        try
        {
            var outcome = await WriteAsync(session, stop).ConfigureAwait(false);
            StateKitTelemetry.BackupLag.Record(_time.GetElapsedTime(queuedAt).TotalSeconds, _storeTag);
            if (outcome == SessionCommitOutcome.NotFound)
            {
                // The backup expired or revoked it (a revocation on another node whose message did not reach this one):
                // never resurrected by a replication, and no longer served from this node's memory either.
                _table.Remove(sessionId);
                Forget(sessionId);
                CountDropped("missing");
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e)
        {
            StateKitTelemetry.BackupDropped.Add(1, _storeTag, new(StateKitTelemetry.ReasonTag, "error"));
            Log.StickyBackupWriteFailed(_logger, e);
        }
    }
}
