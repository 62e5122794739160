using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using StateKit.Diagnostics;
using StateKit.Events;

namespace StateKit.Resilience;

/// <summary>
/// Brings the primary up to date after an outage: when the circuit closes (or its break ends while sessions wait), replays
/// each journaled session with a version check, merges what the primary changed meanwhile, and forwards sessions born in
/// the outage to their new primary ticket. Under <see cref="OutagePolicy.Fallback"/> it only forgets the outage's routes.
/// </summary>
internal sealed class RecoveryReplayer : IDisposable
{
    private readonly StoreCallGuard _guard;
    private readonly OutageRouter _router;
    private readonly OutageJournal _journal;
    private readonly FallbackSessions _fallback;
    private readonly ResilienceOptions _options;
    private readonly Action<ReconciliationReport> _reconciled;
    private readonly SemaphoreSlim _reconcileGate = new(1, 1);
    private readonly ITimer? _recoveryTimer;

    // reconciled is told of each pass that found journaled sessions.
    public RecoveryReplayer(StoreCallGuard guard, OutageRouter router, OutageJournal journal, FallbackSessions fallback, ResilienceOptions options, Action<ReconciliationReport> reconciled)
    {
        _guard = guard;
        _router = router;
        _journal = journal;
        _fallback = fallback;
        _options = options;
        _reconciled = reconciled;
        guard.Breaker.StateChanged += OnCircuitStateChanged;
        if (options.Outage == OutagePolicy.FallbackWithJournal)
        {
            // Journaled sessions are served from the fallback without asking the breaker, so when every active user has
            // one, no request would ever probe the primary and the circuit would never close. The journal probes instead.
            _recoveryTimer = guard.Time.CreateTimer(static state => ((RecoveryReplayer)state!).OnBreakElapsed(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>Gets or sets where replays are reported as <see cref="SessionEventKinds.Reconciled"/> and <see cref="SessionEventKinds.Conflict"/>; <see langword="null"/> when nobody subscribed.</summary>
    public SessionEventSink? Events { get; set; }

    private enum ReplayOutcome
    {
        Replayed,
        Merged,
        KeptConflicting,
        Interrupted,
    }

    /// <summary>Replays the journal now, after any pass already running.</summary>
    public async Task<ReconciliationReport> ReconcileAsync(CancellationToken cancellationToken)
    {
        await _reconcileGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await ReconcileCoreAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _reconcileGate.Release();
        }
    }

    /// <summary>Starts a pass in the background unless one is running.</summary>
    public void StartReconcile()
    {
        if (!_reconcileGate.Wait(0))
        {
            return;
        }

        _ = Task.Run(async () =>
        {
            try
            {
                await ReconcileCoreAsync(CancellationToken.None).ConfigureAwait(false);
            }
            finally
            {
                _reconcileGate.Release();
            }
        });
    }

    public void Dispose()
    {
        _guard.Breaker.StateChanged -= OnCircuitStateChanged;
        _recoveryTimer?.Dispose();
        _reconcileGate.Dispose();
    }

    private void OnCircuitStateChanged(object? sender, CircuitStateChange change)
    {
        if (change.To == CircuitState.Open)
        {
            _recoveryTimer?.Change(_options.CircuitBreaker.BreakDuration, Timeout.InfiniteTimeSpan);
        }

        if (change.To != CircuitState.Closed)
        {
            return;
        }

        if (_options.Outage == OutagePolicy.Fallback)
        {
            // Ephemeral: what was written during the outage stays behind; the primary serves again.
            _router.ForwardClaimsAndForgetTheRest();
        }

        if (_journal.HasPending)
        {
            StartReconcile();
        }
    }

    /// <summary>The break is over: replay the journal, whose first call is the half-open probe. A failed probe re-opens the circuit and re-arms the timer.</summary>
    private void OnBreakElapsed()
    {
        if (!_journal.HasPending)
        {
            return;
        }

        // A timer may fire a tick before the breaker's own clock says the break is over: a pass now would only be rejected.
        var wait = _guard.Breaker.RetryAfter;
        if (wait > TimeSpan.Zero)
        {
            _recoveryTimer?.Change(wait, Timeout.InfiniteTimeSpan);
            return;
        }

        StartReconcile();
    }

    private async Task<ReconciliationReport> ReconcileCoreAsync(CancellationToken cancellationToken)
    {
        var (revoked, complete) = await ReplayRevocationsAsync(cancellationToken).ConfigureAwait(false);
        if (!complete)
        {
            return Report(revoked + _router.Journaled().Length, 0, 0);
        }

        var pending = _router.Journaled();
        int replayed = 0, merged = 0;
        foreach (var route in pending)
        {
            cancellationToken.ThrowIfCancellationRequested();
            await _router.WriteGate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (!route.Journaled)
                {
                    continue;
                }

                var outcome = await ReplayAsync(route, cancellationToken).ConfigureAwait(false);
                if (outcome == ReplayOutcome.Interrupted)
                {
                    break;
                }

                if (outcome == ReplayOutcome.Replayed)
                {
                    replayed++;
                    StateKitTelemetry.JournalReplayed.Add(1, _guard.StoreTag);
                }
                else if (outcome == ReplayOutcome.Merged)
                {
                    merged++;
                    StateKitTelemetry.JournalMerged.Add(1, _guard.StoreTag);
                }
            }
            finally
            {
                _router.WriteGate.Release();
            }
        }

        return Report(revoked + pending.Length, replayed, merged);
    }

    private ReconciliationReport Report(int pending, int replayed, int merged)
    {
        var dropped = _journal.TakeDropped();
        var report = new ReconciliationReport(replayed, merged, dropped, _journal.Count);
        if (pending > 0 || dropped > 0)
        {
            Log.Reconciled(_guard.Logger, _guard.Name, replayed, merged, dropped, report.Remaining);
            _reconciled(report);
        }

        return report;
    }

    /// <summary>Revokes in the primary, oldest first, the tickets revoked during the outage that the fallback never held.</summary>
    /// <returns>How many were tried, and whether all were: not when the primary failed again, and the rest wait for the next pass.</returns>
    private async Task<(int Tried, bool Complete)> ReplayRevocationsAsync(CancellationToken cancellationToken)
    {
        var tried = 0;
        while (_router.TryPeekRevocation(out var ticket))
        {
            cancellationToken.ThrowIfCancellationRequested();
            tried++;
            try
            {
                await _guard.CommitOrThrowAsync(new SessionCommit { Ticket = ticket, Revoke = true }, cancellationToken).ConfigureAwait(false);
            }
            catch (SessionStoreUnavailableException e)
            {
                Log.ReplayInterrupted(_guard.Logger, _guard.Name, e);
                return (tried, false);
            }

            _router.RemoveRevocation(ticket);
        }

        return (tried, true);
    }

    private async Task<ReplayOutcome> ReplayAsync(OutageRoute route, CancellationToken cancellationToken)
    {
        var sequence = route.Sequence;
        try
        {
            if (route.PrimaryTicket is null || route.Revoke)
            {
                if (route.PrimaryTicket is not null)
                {
                    await _guard.CommitOrThrowAsync(new SessionCommit { Ticket = route.PrimaryTicket, Revoke = true }, cancellationToken).ConfigureAwait(false);
                }
                else if (!route.Deleted)
                {
                    await CreateInPrimaryAsync(route, cancellationToken).ConfigureAwait(false);
                }

                Finish(route, sequence);
                return ReplayOutcome.Replayed;
            }

            SessionSnapshot? last = null;
            for (var attempt = 0; attempt < ResilienceDefaults.ReplayAttempts; attempt++)
            {
                var current = await _guard.LoadOrThrowAsync(route.PrimaryTicket, cancellationToken).ConfigureAwait(false);
                if (current is null)
                {
                    // Expired or revoked meanwhile: as for any blind write to a dead session, the outage's own keys start a new one.
                    await CreateInPrimaryAsync(route, cancellationToken).ConfigureAwait(false);
                    Finish(route, sequence);
                    return ReplayOutcome.Replayed;
                }

                last = current;
                var conflict = route.BaseVersion != current.Version;
                var commit = BuildReplay(route, current, conflict);
                var result = await _guard.CommitOrThrowAsync(commit, cancellationToken).ConfigureAwait(false);
                if (result.Outcome != SessionCommitOutcome.Conflict)
                {
                    // The claim held: the primary knows the ticket. The client carries the fallback's; forward it there.
                    route.ForwardTo = result.Ticket ?? route.PrimaryTicket;
                    Finish(route, sequence);
                    var userId = route.BindUserId ?? current.UserId;
                    if (conflict)
                    {
                        Events?.Raise(SessionEventKinds.Conflict, SessionEventReason.Merged, current.Id, userId);
                    }

                    Events?.Raise(SessionEventKinds.Reconciled, conflict ? SessionEventReason.Merged : SessionEventReason.Replayed, result.SessionId ?? current.Id, userId);
                    return conflict ? ReplayOutcome.Merged : ReplayOutcome.Replayed;
                }
            }

            if (last is not null)
            {
                Events?.Raise(SessionEventKinds.Conflict, SessionEventReason.Unresolved, last.Id, route.BindUserId ?? last.UserId);
            }

            return ReplayOutcome.KeptConflicting;
        }
        catch (SessionStoreUnavailableException e)
        {
            Log.ReplayInterrupted(_guard.Logger, _guard.Name, e);
            return ReplayOutcome.Interrupted;
        }
    }

    private SessionCommit BuildReplay(OutageRoute route, SessionSnapshot current, bool conflict)
    {
        var upserts = new Dictionary<string, ReadOnlyMemory<byte>>(StringComparer.Ordinal);
        var removals = new List<string>();
        var merge = conflict ? _options.Merge : null;
        IEnumerable<string> keys = route.ClearExisting && merge is not null
            ? route.Changes.Keys.Union(current.Values.Keys, StringComparer.Ordinal)
            : route.Changes.Keys;
        foreach (var key in keys)
        {
            route.Changes.TryGetValue(key, out var journaled);
            var value = journaled;
            if (merge is not null)
            {
                ReadOnlyMemory<byte>? now = current.Values.TryGetValue(key, out var v) ? v : null;
                value = merge(new SessionMergeConflict(current.Id, key, now, journaled, current.Version, route.BaseVersion));
            }

            if (value is { } kept)
            {
                upserts[key] = kept;
            }
            else
            {
                removals.Add(key);
            }
        }

        return new SessionCommit
        {
            Ticket = route.PrimaryTicket,
            Base = current,
            Mode = SessionCommitMode.RequireBaseVersion,
            ClearExisting = route.ClearExisting && merge is null,
            Upserts = upserts,
            Removals = removals,
            BindUserId = route.BindUserId,
        };
    }

    private async Task CreateInPrimaryAsync(OutageRoute route, CancellationToken cancellationToken)
    {
        var upserts = new Dictionary<string, ReadOnlyMemory<byte>>(StringComparer.Ordinal);
        foreach (var (key, value) in route.Changes)
        {
            if (value is { } v)
            {
                upserts[key] = v;
            }
        }

        if (upserts.Count == 0)
        {
            return;
        }

        var result = await _guard.CommitOrThrowAsync(new SessionCommit { Upserts = upserts, BindUserId = route.BindUserId }, cancellationToken).ConfigureAwait(false);
        if (result.Ticket is { } primaryTicket)
        {
            route.ForwardTo = primaryTicket;
        }

        if (result.SessionId is { } id)
        {
            Events?.Raise(SessionEventKinds.Reconciled, SessionEventReason.Replayed, id, route.BindUserId);
        }
    }

    private void Finish(OutageRoute route, long sequence)
    {
        if (route.Sequence != sequence)
        {
            // Written again while replaying: replay once more on the next pass (upserts are idempotent).
            return;
        }

        _journal.Remove(route);
        if (route.FallbackTicket is { } fallbackTicket)
        {
            _fallback.Discard(fallbackTicket);
            route.FallbackTicket = null;
        }

        if (route.ForwardTo is null)
        {
            _router.Remove(route);
        }
    }
}
