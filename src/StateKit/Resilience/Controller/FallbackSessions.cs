using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using StateKit.Diagnostics;

namespace StateKit.Resilience;

/// <summary>
/// Serves sessions from the fallback store while the primary is out: loads, and commits that it routes and, under
/// <see cref="OutagePolicy.FallbackWithJournal"/>, journals for replay.
/// </summary>
/// <remarks>
/// A ticket the fallback has never seen loads as an empty session that keeps its ticket (version 0), not as "no session":
/// that would mint a new ticket and orphan the session in the primary.
/// </remarks>
internal sealed class FallbackSessions
{
    private readonly ISessionStore _fallback;
    private readonly OutageRouter _router;
    private readonly OutageJournal _journal;
    private readonly StoreCallGuard _guard;
    private readonly bool _journaling;

    public FallbackSessions(ISessionStore fallback, OutageRouter router, OutageJournal journal, StoreCallGuard guard, OutagePolicy outage)
    {
        _fallback = fallback;
        _router = router;
        _journal = journal;
        _guard = guard;
        _journaling = outage == OutagePolicy.FallbackWithJournal;
    }

    /// <summary>Loads a session the router sends to the fallback.</summary>
    public async ValueTask<SessionSnapshot?> LoadRoutedAsync(OutageRoute route, CancellationToken cancellationToken)
    {
        StateKitTelemetry.FallbackCalls.Add(1, _guard.StoreTag, new(StateKitTelemetry.OperationTag, "load"));
        if (route.Deleted || route.FallbackTicket is not { } fallbackTicket)
        {
            return route.Deleted ? null : Placeholder();
        }

        return await _fallback.LoadAsync(fallbackTicket, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Loads a session the breaker kept from the primary.</summary>
    public ValueTask<SessionSnapshot?> LoadAsync(string ticket, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (_router.TryGetUnforwarded(ticket, out var route))
        {
            return LoadRoutedAsync(route, cancellationToken);
        }

        StateKitTelemetry.FallbackCalls.Add(1, _guard.StoreTag, new(StateKitTelemetry.OperationTag, "load"));

        // Never seen by the fallback: an empty session that keeps its ticket, so writes can merge back into the primary's.
        return ValueTask.FromResult<SessionSnapshot?>(Placeholder());
    }

    /// <summary>Commits to the fallback, routing the ticket and journaling the writes.</summary>
    public async ValueTask<SessionCommitResult> CommitAsync(SessionCommit commit, CancellationToken cancellationToken)
    {
        if (commit.RotateId)
        {
            // The fallback cannot kill the old ticket in the primary: rotating now would leave a fixation window open.
            throw new SessionStoreRejectedException(_guard.Name, SessionStoreRejectionReason.NotAvailableDuringOutage, _guard.Breaker.RetryAfter);
        }

        StateKitTelemetry.FallbackCalls.Add(1, _guard.StoreTag, new(StateKitTelemetry.OperationTag, "commit"));
        await _router.WriteGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            OutageRoute? route = null;
            if (commit.Ticket is not null && !_router.TryGet(commit.Ticket, out route))
            {
                route = null;
            }

            if (route is { Deleted: true } && !commit.Revoke)
            {
                // Deleted during the outage: like any store, a write to a dead session is NotFound (StateSession then starts a new one).
                return SessionCommitResult.NotFound;
            }

            if (commit.Mode == SessionCommitMode.RequireBaseVersion && route?.FallbackTicket is not null && commit.Base is { Version: 0 })
            {
                // Based on the empty placeholder, but another request has written since.
                return SessionCommitResult.Conflict;
            }

            var isNewRoute = route is null;
            if (isNewRoute && _journaling)
            {
                _journal.MakeRoom();
            }

            var result = await WriteAsync(commit, route, cancellationToken).ConfigureAwait(false);
            if (result.Outcome is SessionCommitOutcome.NoChange or SessionCommitOutcome.Conflict)
            {
                return result;
            }

            route ??= _router.Add(commit.Ticket ?? result.Ticket!, commit.Ticket, commit.Base is { Version: > 0 } b ? b.Version : null);
            if (commit.Ticket is null || (isNewRoute && result.Outcome == SessionCommitOutcome.Committed))
            {
                route.FallbackTicket = result.Ticket ?? route.FallbackTicket;
            }

            if (result.Outcome == SessionCommitOutcome.Deleted)
            {
                route.Deleted = true;
                route.FallbackTicket = null;
            }

            if (_journaling)
            {
                _journal.Add(route);
                route.Record(commit);
            }

            // A ticket the client already carries stays; a session born in the outage carries the fallback's.
            return commit.Ticket is null ? result : result with { Ticket = null };
        }
        finally
        {
            _router.WriteGate.Release();
        }
    }

    /// <summary>Drops the fallback's copy of a session the primary holds now; it only costs memory.</summary>
    public void Discard(string fallbackTicket)
        => _ = _fallback.CommitAsync(new SessionCommit { Ticket = fallbackTicket, Revoke = true }, CancellationToken.None).AsTask();

    private async ValueTask<SessionCommitResult> WriteAsync(SessionCommit commit, OutageRoute? route, CancellationToken cancellationToken)
    {
        if (commit.Revoke)
        {
            if (route?.FallbackTicket is { } revoked)
            {
                await _fallback.CommitAsync(commit.Retarget(revoked, commit.RotateId), cancellationToken).ConfigureAwait(false);
            }

            return SessionCommitResult.Deleted;
        }

        if (route?.FallbackTicket is { } fallbackTicket)
        {
            var forFallback = commit.Retarget(fallbackTicket, commit.RotateId);
            var result = await _fallback.CommitAsync(
                commit.Mode == SessionCommitMode.RequireBaseVersion ? forFallback : new SessionCommit
                {
                    Ticket = fallbackTicket,
                    Upserts = commit.Upserts,
                    Removals = commit.Removals,
                    ClearExisting = commit.ClearExisting,
                    BindUserId = commit.BindUserId,
                },
                cancellationToken).ConfigureAwait(false);
            return result.Outcome == SessionCommitOutcome.Conflict ? result : result with { Ticket = null };
        }

        // First write for this ticket in the fallback: seed it with what the request loaded from the primary, if anything.
        var seed = commit.Base is { Version: > 0 } loaded ? loaded.Values : null;
        var values = SessionPayload.Apply(seed, commit);
        return values.Count == 0
            ? (commit.Ticket is null ? SessionCommitResult.NoChange : SessionCommitResult.Deleted)
            : await _fallback.CommitAsync(new SessionCommit { Upserts = values, BindUserId = commit.BindUserId ?? commit.Base?.UserId }, cancellationToken).ConfigureAwait(false);
    }

    private SessionSnapshot Placeholder()
    {
        var now = _guard.Time.GetUtcNow();
        return new SessionSnapshot(SessionIds.NewId(), 0, new Dictionary<string, ReadOnlyMemory<byte>>())
        {
            CreatedAt = now,
            LastAccessedAt = now,
            AbsoluteExpiresAt = now + StateKitDefaults.AbsoluteLifetime,
            IdleTimeout = StateKitDefaults.IdleTimeout,
        };
    }
}
