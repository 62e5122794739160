using System;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StateKit.Diagnostics;
using StateKit.Events;
using StateKit.Memory;

namespace StateKit.Resilience;

/// <summary>
/// Guards a store with a timeout per call, a concurrency limit, and a <see cref="Resilience.CircuitBreaker"/>; while the
/// circuit is open it applies the configured <see cref="OutagePolicy"/>, and when it closes it replays the outage journal.
/// </summary>
/// <remarks>
/// <para>
/// Failures that count against the store: <see cref="SessionStoreUnavailableException"/>, <see cref="TimeoutException"/>,
/// and the call's own timeout. A conflict, <see cref="SessionPayloadTooLargeException"/> and the caller's cancellation do not.
/// While the circuit is closed a failing call surfaces as that typed exception whatever the policy; the policy takes over once it opens.
/// </para>
/// <para>
/// During an outage a ticket the fallback did not issue cannot be verified, so it never names a session: it loads as an
/// empty session (version 0), and the first write starts a fallback session under a fresh ticket the fallback issues,
/// handed to the client. The presented ticket is kept only as a claim: the replay merges the outage writes into the
/// primary session it names if the primary knows it, and starts a new primary session otherwise; either way the fallback
/// ticket forwards there, and the next commit hands the client the primary ticket. See docs/resilience.md, "Threats".
/// </para>
/// </remarks>
public sealed class ResilientSessionStore : ISessionStore, ISessionLister, IDisposable, ISessionEventSource
{
    // The front asks the router where a ticket goes and the guard whether the primary may be called, then delegates.
    private readonly ResilienceOptions _options;
    private readonly StoreCallGuard _guard;
    private readonly OutageRouter _router;
    private readonly OutageJournal _journal;
    private readonly FallbackSessions _fallback;
    private readonly RecoveryReplayer _replayer;
    private SessionStoreCapabilities? _capabilities;

    /// <summary>Initializes a new instance of the <see cref="ResilientSessionStore"/> class.</summary>
    /// <param name="primary">The store to guard.</param>
    /// <param name="options">The settings; validated here.</param>
    /// <param name="fallback">
    /// Where sessions live during an outage under <see cref="OutagePolicy.FallbackWithJournal"/> or <see cref="OutagePolicy.Fallback"/>,
    /// or <see langword="null"/> for a private in-memory store.
    /// </param>
    /// <param name="timeProvider">The clock, or <see langword="null"/> for <see cref="TimeProvider.System"/>.</param>
    /// <param name="logger">A logger, or <see langword="null"/> for none.</param>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">An option is invalid; the message lists each one.</exception>
    public ResilientSessionStore(ISessionStore primary, ResilienceOptions options, ISessionStore? fallback = null, TimeProvider? timeProvider = null, ILogger<ResilientSessionStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(primary);
        ArgumentNullException.ThrowIfNull(options);
        options.ThrowIfInvalid();
        _options = options;
        var time = timeProvider ?? TimeProvider.System;
        var log = logger ?? (ILogger)NullLogger.Instance;
        Name = options.Name ?? "store";
        fallback ??= new InMemorySessionStore(
            new InMemorySessionStoreOptions { Name = Name + "-fallback", MaxPayloadBytes = primary.Capabilities.MaxPayloadBytes },
            time);

        CircuitBreaker = new CircuitBreaker(Name, options.CircuitBreaker, time, log);
        _router = new OutageRouter(options.JournalCapacity);
        _journal = new OutageJournal(_router, CircuitBreaker, options, log);
        _guard = new StoreCallGuard(primary, CircuitBreaker, options, time, log, _journal, OnJournalPending);
        _fallback = new FallbackSessions(fallback, _router, _journal, _guard, options.Outage);
        _replayer = new RecoveryReplayer(_guard, _router, _journal, _fallback, options, OnReconciled);
    }

    /// <summary>Raised after each reconciliation pass that found journaled sessions or revocations to replay, with what it did.</summary>
    public event EventHandler<ReconciliationReport>? Reconciled;

    /// <inheritdoc />
    /// <remarks>
    /// Raises, per session the outage journal replays to the primary, <see cref="SessionEventKinds.Reconciled"/> once it is
    /// there and <see cref="SessionEventKinds.Conflict"/> when it met a newer version (merged, or still conflicting and kept).
    /// The primary's own events (created, revoked) come from the primary store.
    /// </remarks>
    void ISessionEventSource.AttachEvents(SessionEventSink sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        _replayer.Events = sink;
    }

    /// <summary>Gets the name the store reports in metrics, logs and exceptions.</summary>
    public string Name { get; }

    /// <summary>Gets the circuit breaker guarding the primary store: read its state, isolate or reset it by hand.</summary>
    public CircuitBreaker CircuitBreaker { get; }

    /// <summary>Gets the outage policy.</summary>
    public OutagePolicy Outage => _options.Outage;

    /// <summary>Gets how many sessions have journaled writes not yet replayed to the primary.</summary>
    public int JournalDepth => _journal.Count;

    /// <summary>Gets the guarded store.</summary>
    internal ISessionStore Primary => _guard.Primary;

    /// <summary>
    /// Gets the primary's capabilities. During an outage the fallback's guarantees apply to the sessions it serves.
    /// <see cref="SessionStoreCapabilities.ListsUserSessions"/> when the primary lists; during an outage listing fails
    /// (see <see cref="ListUserSessionsAsync"/>).
    /// </summary>
    public SessionStoreCapabilities Capabilities => _capabilities ??= _guard.PrimaryCapabilities with
    {
        Events = _guard.PrimaryCapabilities.Events | SessionEventKinds.Reconciled | SessionEventKinds.Conflict,
        ListsUserSessions = _guard.PrimaryCapabilities.ListsUserSessions && _guard.Primary is ISessionLister,
    };

    /// <inheritdoc />
    public ValueTask<SessionSnapshot?> LoadAsync(string ticket, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ticket);
        if (_router.IsRevoked(ticket))
        {
            // Revoked during the outage; the replay has not told the primary yet.
            return ValueTask.FromResult<SessionSnapshot?>(null);
        }

        if (_router.RouteLoad(ref ticket, out var journaled))
        {
            // Until its outage writes are replayed, the fallback holds the newest copy.
            return _fallback.LoadRoutedAsync(journaled, cancellationToken);
        }

        var permit = _guard.TryEnter();
        if (!permit.IsAllowed)
        {
            return _options.Outage == OutagePolicy.FailFast
                ? ValueTask.FromException<SessionSnapshot?>(_guard.Rejected())
                : _fallback.LoadAsync(ticket, cancellationToken);
        }

        return _guard.LoadAsync(permit, ticket, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<SessionCommitResult> CommitAsync(SessionCommit commit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(commit);
        if (!commit.NeedsWrite(_guard.PrimaryCapabilities.Location))
        {
            return ValueTask.FromResult(SessionCommitResult.NoChange);
        }

        if (_router.RouteCommit(ref commit, out var forwardedTo))
        {
            return _fallback.CommitAsync(commit, cancellationToken);
        }

        if (commit.Revoke)
        {
            return CommitRevocationAsync(commit, forwardedTo, cancellationToken);
        }

        var permit = _guard.TryEnter();
        if (!permit.IsAllowed)
        {
            return _options.Outage == OutagePolicy.FailFast
                ? ValueTask.FromException<SessionCommitResult>(_guard.Rejected())
                : _fallback.CommitAsync(commit, cancellationToken);
        }

        var result = _guard.CommitAsync(permit, commit, cancellationToken);
        return forwardedTo is null ? result : HandOverAsync(result, forwardedTo);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Revokes in the primary, through the breaker; while the circuit is open it fails with
    /// <see cref="SessionStoreRejectedException"/>. Once the primary has revoked the session, the breaker remembers it (at
    /// most <see cref="ResilienceOptions.JournalCapacity"/> sessions), so that a request which loaded it before and commits
    /// during a later outage cannot seed the fallback with it, and drops outage writes the journal still holds for it.
    /// </remarks>
    public async ValueTask<bool> RevokeAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        // Held across the primary's revocation and the routes' end: a replay between them would find the session gone
        // and start a new one from its outage writes.
        await _router.WriteGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var permit = _guard.TryEnter();
            if (!permit.IsAllowed)
            {
                throw _guard.Rejected();
            }

            var revoked = await _guard.RevokeAsync(permit, sessionId, cancellationToken).ConfigureAwait(false);
            if (revoked)
            {
                EndClaimsOf(SessionIds.ToPublicId(sessionId));
            }

            return revoked;
        }
        finally
        {
            _router.WriteGate.Release();
        }
    }

    /// <inheritdoc />
    public ValueTask<int> RevokeUserAsync(string userId, CancellationToken cancellationToken = default)
    {
        var permit = _guard.TryEnter();
        return permit.IsAllowed
            ? _guard.RevokeUserAsync(permit, userId, cancellationToken)
            : ValueTask.FromException<int>(_guard.Rejected());
    }

    /// <inheritdoc />
    /// <remarks>
    /// The primary's listing, through the breaker like any call (a failure counts against the store). While the circuit is
    /// open it fails with <see cref="SessionStoreRejectedException"/>: the fallback's sessions are not listed in its place,
    /// since they are not the primary's (an account page shows "try again shortly" rather than a partial list).
    /// </remarks>
    /// <exception cref="SessionStoreRejectedException">The circuit is open, or the call timed out or was shed.</exception>
    /// <exception cref="NotSupportedException">The primary does not list (<see cref="Capabilities"/> says so).</exception>
    public ValueTask<UserSessionPage> ListUserSessionsAsync(string userId, string? continuationToken = null, int pageSize = UserSessionPage.DefaultPageSize, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userId);
        UserSessionListing.ThrowIfBadPageSize(pageSize);
        _ = Lister;
        var permit = _guard.TryEnter();
        return permit.IsAllowed
            ? _guard.ListUserSessionsAsync(permit, userId, continuationToken, pageSize, cancellationToken)
            : ValueTask.FromException<UserSessionPage>(_guard.Rejected());
    }

    /// <inheritdoc />
    /// <remarks>
    /// Ends the session in the primary, through the breaker; while the circuit is open it fails with
    /// <see cref="SessionStoreRejectedException"/> (the primary must check the owner, and only it can). Once the primary has
    /// ended it, outage writes the journal still holds for that session are dropped, so their replay cannot bring it back.
    /// </remarks>
    /// <exception cref="SessionStoreRejectedException">The circuit is open, or the call timed out or was shed.</exception>
    /// <exception cref="NotSupportedException">The primary does not list (<see cref="Capabilities"/> says so).</exception>
    public async ValueTask<bool> RevokeUserSessionAsync(string userId, string publicId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userId);
        ArgumentNullException.ThrowIfNull(publicId);
        _ = Lister;

        // Held across the primary's revocation and the routes' end: a replay between them would find the session gone
        // and start a new one from its outage writes.
        await _router.WriteGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var permit = _guard.TryEnter();
            if (!permit.IsAllowed)
            {
                throw _guard.Rejected();
            }

            var revoked = await _guard.RevokeUserSessionAsync(permit, userId, publicId, cancellationToken).ConfigureAwait(false);
            if (revoked)
            {
                EndClaimsOf(publicId);
            }

            return revoked;
        }
        finally
        {
            _router.WriteGate.Release();
        }
    }

    /// <summary>
    /// Replays the outage journal to the primary now: each session's writes are applied with a version check, and a
    /// session the primary changed meanwhile goes through the merge policy. Runs by itself when the circuit closes.
    /// </summary>
    /// <param name="cancellationToken">A token that stops the pass between sessions.</param>
    /// <returns>What the pass did.</returns>
    public Task<ReconciliationReport> ReconcileAsync(CancellationToken cancellationToken = default)
        => _replayer.ReconcileAsync(cancellationToken);

    /// <summary>Releases the concurrency limiter and the circuit breaker's timer. The primary and fallback stores are not disposed: the caller owns them.</summary>
    public void Dispose()
    {
        _replayer.Dispose();
        _guard.Dispose();
        CircuitBreaker.Dispose();
        _router.Dispose();
    }

    private ISessionLister Lister => Capabilities.ListsUserSessions
        ? (ISessionLister)_guard.Primary
        : throw new NotSupportedException($"The store '{Name}' under the circuit breaker cannot list a user's sessions (its Capabilities.ListsUserSessions is false); the in-memory and Redis stores can.");

    /// <summary>
    /// A commit that revokes (a sign-out through <see cref="StateSession.Revoke"/>), sent to the primary under the gate
    /// <see cref="RevokeAsync"/> takes, for the same reason; once the primary has deleted the session, it is remembered as
    /// ended. Rare next to other commits, so the gate costs the common path nothing.
    /// </summary>
    private async ValueTask<SessionCommitResult> CommitRevocationAsync(SessionCommit commit, string? forwardedTo, CancellationToken cancellationToken)
    {
        await _router.WriteGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var permit = _guard.TryEnter();
            if (permit.IsAllowed)
            {
                var result = forwardedTo is null
                    ? await _guard.CommitAsync(permit, commit, cancellationToken).ConfigureAwait(false)
                    : await HandOverAsync(_guard.CommitAsync(permit, commit, cancellationToken), forwardedTo).ConfigureAwait(false);
                if (result.Outcome == SessionCommitOutcome.Deleted && commit.Ticket is { } ticket)
                {
                    EndClaimsOf(SessionIds.ToPublicId(ticket));
                }

                return result;
            }

            if (_options.Outage == OutagePolicy.FailFast)
            {
                throw _guard.Rejected();
            }
        }
        finally
        {
            _router.WriteGate.Release();
        }

        // The circuit is open: the fallback journals the revocation, and takes the gate itself.
        return await _fallback.CommitAsync(commit, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The primary ended the session with this public id: see <see cref="FallbackSessions.EndClaimsOf"/>. Called under the gate.</summary>
    private void EndClaimsOf(string publicId)
    {
        if (_fallback.EndClaimsOf(publicId) is var ended and > 0)
        {
            Log.OutageWritesOfEndedSessionDropped(_guard.Logger, Name, ended);
        }
    }

    private static async ValueTask<SessionCommitResult> HandOverAsync(ValueTask<SessionCommitResult> pending, string primaryTicket)
    {
        var result = await pending.ConfigureAwait(false);

        // The client still carries the ticket minted during the outage: hand it the primary's.
        return result.Outcome == SessionCommitOutcome.Committed && result.Ticket is null ? result with { Ticket = primaryTicket } : result;
    }

    private void OnJournalPending() => _replayer.StartReconcile();

    private void OnReconciled(ReconciliationReport report) => Reconciled?.Invoke(this, report);
}
