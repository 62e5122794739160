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
/// <para>
/// A ticket the fallback did not issue cannot be verified while the primary is out: it may be the user's own, or a
/// string an attacker planted. It loads as an empty session (version 0), so the request works, but it never names a
/// session here: the first write starts a new fallback session under a ticket the fallback issues, handed to the client,
/// and remembers the presented ticket only as a claim that the replay checks against the primary.
/// </para>
/// <para>
/// A commit against such a ticket that leaves nothing to keep (removals, a clear, a refresh) is not kept: there is nothing
/// to delete here, and journaling it would let any string take a journal slot. A revocation is kept apart from the
/// journal, bounded, and replayed.
/// </para>
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

        // Not issued by the fallback, so unverifiable now: an empty session, unless it was revoked during the outage.
        return ValueTask.FromResult(_router.IsRevoked(ticket) ? null : Placeholder());
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
            if (commit.Ticket is null || !_router.TryGet(commit.Ticket, out var route))
            {
                return await StartAsync(commit, cancellationToken).ConfigureAwait(false);
            }

            if (route.ForwardTo is { } forwarded && route.FallbackTicket is null && !route.Deleted)
            {
                // Replayed while this commit waited for the gate: the fallback's copy is gone and the session lives in the
                // primary. Start again from what the request loaded, claiming the primary ticket; the next pass merges it.
                return await StartAsync(commit.Retarget(forwarded, rotateId: false), cancellationToken).ConfigureAwait(false);
            }

            return await CommitRoutedAsync(commit, route, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _router.WriteGate.Release();
        }
    }

    /// <summary>
    /// The primary ended a session by its public id: every outage route that claims it (its writes still in the fallback,
    /// waiting for replay) ends too, so that neither the fallback's copy nor the replay brings the session back. Called
    /// under <see cref="OutageRouter.WriteGate"/>, held across the primary's revocation, so that no replay runs between.
    /// </summary>
    /// <returns>How many routes ended.</returns>
    public int EndClaimsOf(string publicId)
    {
        _router.RememberEnded(publicId);
        var ended = 0;
        foreach (var route in _router.Claiming(publicId))
        {
            // A route forwarded to the primary needs nothing: its writes are there, and the primary just ended them.
            if (route.ForwardTo is not null || route.Deleted)
            {
                continue;
            }

            _journal.Remove(route);
            route.Changes.Clear();
            route.Deleted = true;
            if (route.FallbackTicket is { } fallbackTicket)
            {
                Discard(fallbackTicket);
                route.FallbackTicket = null;
            }

            ended++;
        }

        return ended;
    }

    /// <summary>Drops the fallback's copy of a session the primary holds now; it only costs memory.</summary>
    public void Discard(string fallbackTicket)
        => _ = _fallback.CommitAsync(new SessionCommit { Ticket = fallbackTicket, Revoke = true }, CancellationToken.None).AsTask();

    /// <summary>
    /// A commit with no ticket, or with one the fallback did not issue (the claim): a new fallback session under a ticket
    /// the fallback issues, handed to the client.
    /// </summary>
    private async ValueTask<SessionCommitResult> StartAsync(SessionCommit commit, CancellationToken cancellationToken)
    {
        var claimed = commit.Ticket;
        if (commit.Revoke)
        {
            if (claimed is not null && _router.AddRevocation(claimed))
            {
                _journal.CountForgottenRevocation();
            }

            return claimed is null ? SessionCommitResult.NoChange : SessionCommitResult.Deleted;
        }

        if (claimed is not null && commit.Base is { Version: > 0 } && _router.WasEnded(claimed))
        {
            // Loaded before its user ended it by public id: seeding the fallback would bring it back, signed in, for the
            // outage. Like any write to a dead session, NotFound (StateSession starts a new one with this request's writes).
            return SessionCommitResult.NotFound;
        }

        // Seeded with what the request loaded from the primary before the outage, if anything.
        var seed = commit.Base is { Version: > 0 } loaded ? loaded.Values : null;
        var values = SessionPayload.Apply(seed, commit);
        if (values.Count == 0)
        {
            return SessionCommitResult.NoChange;
        }

        if (_journaling)
        {
            _journal.MakeRoom();
        }

        var result = await _fallback.CommitAsync(new SessionCommit { Upserts = values, BindUserId = commit.BindUserId ?? commit.Base?.UserId }, cancellationToken).ConfigureAwait(false);
        if (result.Outcome != SessionCommitOutcome.Committed || result.Ticket is not { } issued)
        {
            return result;
        }

        var route = _router.Add(issued, claimed, commit.Base is { Version: > 0 } b ? b.Version : null);
        route.FallbackTicket = issued;
        if (_journaling)
        {
            _journal.Add(route);
            route.Record(commit);
        }

        return result;
    }

    /// <summary>A commit to a session the fallback issued: written there, journaled; the client keeps its ticket.</summary>
    private async ValueTask<SessionCommitResult> CommitRoutedAsync(SessionCommit commit, OutageRoute route, CancellationToken cancellationToken)
    {
        if (route.Deleted && !commit.Revoke)
        {
            // Deleted during the outage: like any store, a write to a dead session is NotFound (StateSession then starts a new one).
            return SessionCommitResult.NotFound;
        }

        var result = await WriteAsync(commit, route, cancellationToken).ConfigureAwait(false);
        if (result.Outcome is SessionCommitOutcome.NoChange or SessionCommitOutcome.Conflict)
        {
            return result;
        }

        if (result.Outcome == SessionCommitOutcome.Deleted)
        {
            route.Deleted = true;
            route.FallbackTicket = null;
            if (!_journaling && route.PrimaryTicket is { } claimed && _router.AddRevocation(claimed))
            {
                _journal.CountForgottenRevocation();
            }
        }

        if (_journaling)
        {
            _journal.Add(route);
            route.Record(commit);
        }

        return result with { Ticket = null };
    }

    private async ValueTask<SessionCommitResult> WriteAsync(SessionCommit commit, OutageRoute route, CancellationToken cancellationToken)
    {
        if (commit.Revoke)
        {
            if (route.FallbackTicket is { } revoked)
            {
                await _fallback.CommitAsync(commit.Retarget(revoked, commit.RotateId), cancellationToken).ConfigureAwait(false);
            }

            return SessionCommitResult.Deleted;
        }

        if (route.FallbackTicket is not { } fallbackTicket)
        {
            return SessionCommitResult.NotFound;
        }

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
