using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.RateLimiting;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StateKit.Diagnostics;
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
/// During an outage a ticket the fallback has never seen loads as an empty session that keeps its ticket (version 0), not as
/// "no session": that would mint a new ticket and orphan the session in the primary. Its writes are journaled against the
/// primary ticket and merged back on replay. A session created during the outage keeps its fallback ticket; after replay the
/// store forwards it to the new primary session, and the next commit hands the client the primary ticket.
/// </para>
/// </remarks>
public sealed class ResilientSessionStore : ISessionStore, IDisposable
{
    private readonly ISessionStore _primary;
    private readonly ISessionStore _fallback;
    private readonly ResilienceOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrencyLimiter? _limiter;
    private readonly KeyValuePair<string, object?> _storeTag;
    private readonly SemaphoreSlim _degradedGate = new(1, 1);
    private readonly SemaphoreSlim _reconcileGate = new(1, 1);
    private readonly Dictionary<string, OutageRoute> _routes = new(StringComparer.Ordinal);
    private readonly Lock _routesLock = new();
    private readonly ITimer? _recoveryTimer;
    private int _routeCount;
    private int _journalCount;
    private int _droppedSinceReport;
    private long _order;

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
        _primary = primary;
        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        Name = options.Name ?? "store";
        _storeTag = new(StateKitTelemetry.StoreTag, Name);
        _fallback = fallback ?? new InMemorySessionStore(
            new InMemorySessionStoreOptions { Name = Name + "-fallback", MaxPayloadBytes = primary.Capabilities.MaxPayloadBytes },
            _time);
        if (options.MaxConcurrentCalls > 0)
        {
            // No queue: a store that cannot keep up sheds at once instead of piling requests up behind it.
            _limiter = new ConcurrencyLimiter(new ConcurrencyLimiterOptions { PermitLimit = options.MaxConcurrentCalls, QueueLimit = 0 });
        }

        CircuitBreaker = new CircuitBreaker(Name, options.CircuitBreaker, _time, _logger);
        CircuitBreaker.StateChanged += OnCircuitStateChanged;
        if (options.Outage == OutagePolicy.FallbackWithJournal)
        {
            // Journaled sessions are served from the fallback without asking the breaker, so when every active user has
            // one, no request would ever probe the primary and the circuit would never close. The journal probes instead.
            _recoveryTimer = _time.CreateTimer(static state => ((ResilientSessionStore)state!).OnBreakElapsed(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>Raised after each reconciliation pass that found journaled sessions, with what it did.</summary>
    public event EventHandler<ReconciliationReport>? Reconciled;

    /// <summary>Gets the name the store reports in metrics, logs and exceptions.</summary>
    public string Name { get; }

    /// <summary>Gets the circuit breaker guarding the primary store: read its state, isolate or reset it by hand.</summary>
    public CircuitBreaker CircuitBreaker { get; }

    /// <summary>Gets the outage policy.</summary>
    public OutagePolicy Outage => _options.Outage;

    /// <summary>Gets how many sessions have journaled writes not yet replayed to the primary.</summary>
    public int JournalDepth => Volatile.Read(ref _journalCount);

    /// <summary>Gets the primary's capabilities. During an outage the fallback's guarantees apply to the sessions it serves.</summary>
    public SessionStoreCapabilities Capabilities => _primary.Capabilities;

    /// <inheritdoc />
    public ValueTask<SessionSnapshot?> LoadAsync(string ticket, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ticket);
        if (Volatile.Read(ref _routeCount) != 0 && TryGetRoute(ticket, out var route))
        {
            if (route.ForwardTo is { } forward)
            {
                ticket = forward;
            }
            else if (route.Journaled)
            {
                // Until its outage writes are replayed, the fallback holds the newest copy.
                return RoutedLoadAsync(route, cancellationToken);
            }
        }

        var permit = CircuitBreaker.TryEnter();
        if (!permit.IsAllowed)
        {
            return _options.Outage == OutagePolicy.FailFast
                ? ValueTask.FromException<SessionSnapshot?>(Rejected())
                : DegradedLoadAsync(ticket, cancellationToken);
        }

        return GuardAsync(permit, "load", ticket, static (store, t, ct) => store.LoadAsync(t, ct), cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<SessionCommitResult> CommitAsync(SessionCommit commit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(commit);
        if (!commit.HasChanges)
        {
            return ValueTask.FromResult(SessionCommitResult.NoChange);
        }

        string? forwardedTo = null;
        if (commit.Ticket is not null && Volatile.Read(ref _routeCount) != 0 && TryGetRoute(commit.Ticket, out var route))
        {
            if (route.Journaled)
            {
                return DegradedCommitAsync(commit, cancellationToken);
            }

            if (route.ForwardTo is not null)
            {
                forwardedTo = route.ForwardTo;
                commit = commit.Retarget(forwardedTo, commit.RotateId);
            }
        }

        var permit = CircuitBreaker.TryEnter();
        if (!permit.IsAllowed)
        {
            return _options.Outage == OutagePolicy.FailFast
                ? ValueTask.FromException<SessionCommitResult>(Rejected())
                : DegradedCommitAsync(commit, cancellationToken);
        }

        var result = GuardAsync(permit, "commit", commit, static (store, c, ct) => store.CommitAsync(c, ct), cancellationToken);
        return forwardedTo is null ? result : HandOverAsync(result, forwardedTo);
    }

    /// <inheritdoc />
    public ValueTask<bool> RevokeAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        var permit = CircuitBreaker.TryEnter();
        return permit.IsAllowed
            ? GuardAsync(permit, "revoke", sessionId, static (store, id, ct) => store.RevokeAsync(id, ct), cancellationToken)
            : ValueTask.FromException<bool>(Rejected());
    }

    /// <inheritdoc />
    public ValueTask<int> RevokeUserAsync(string userId, CancellationToken cancellationToken = default)
    {
        var permit = CircuitBreaker.TryEnter();
        return permit.IsAllowed
            ? GuardAsync(permit, "revoke_user", userId, static (store, id, ct) => store.RevokeUserAsync(id, ct), cancellationToken)
            : ValueTask.FromException<int>(Rejected());
    }

    /// <summary>
    /// Replays the outage journal to the primary now: each session's writes are applied with a version check, and a
    /// session the primary changed meanwhile goes through the merge policy. Runs by itself when the circuit closes.
    /// </summary>
    /// <param name="cancellationToken">A token that stops the pass between sessions.</param>
    /// <returns>What the pass did.</returns>
    public async Task<ReconciliationReport> ReconcileAsync(CancellationToken cancellationToken = default)
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

    /// <summary>Releases the concurrency limiter. The primary and fallback stores are not disposed: the caller owns them.</summary>
    public void Dispose()
    {
        CircuitBreaker.StateChanged -= OnCircuitStateChanged;
        _recoveryTimer?.Dispose();
        _limiter?.Dispose();
        _degradedGate.Dispose();
        _reconcileGate.Dispose();
    }

    private async ValueTask<TResult> GuardAsync<TArg, TResult>(
        CircuitPermit permit,
        string operation,
        TArg arg,
        Func<ISessionStore, TArg, CancellationToken, ValueTask<TResult>> call,
        CancellationToken cancellationToken)
    {
        RateLimitLease? lease = null;
        if (_limiter is not null)
        {
            lease = _limiter.AttemptAcquire();
            if (!lease.IsAcquired)
            {
                lease.Dispose();
                CircuitBreaker.OnIgnored(permit);
                StateKitTelemetry.Rejections.Add(1, _storeTag, new(StateKitTelemetry.ReasonTag, "concurrency_limit"));
                Log.StoreCallShed(_logger, operation, Name, _options.MaxConcurrentCalls);
                throw new SessionStoreRejectedException(Name, SessionStoreRejectionReason.ConcurrencyLimit, TimeSpan.Zero);
            }
        }

        try
        {
            TResult result;
            if (_options.Timeout == Timeout.InfiniteTimeSpan)
            {
                result = await call(_primary, arg, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                // The store gets a token that fires at the deadline; WaitAsync bounds the wait even for a store that ignores it.
                using var deadline = new CancellationTokenSource(_options.Timeout, _time);
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
                var pending = call(_primary, arg, linked.Token);
                result = pending.IsCompletedSuccessfully
                    ? pending.Result
                    : await pending.AsTask().WaitAsync(_options.Timeout, _time, cancellationToken).ConfigureAwait(false);
            }

            CircuitBreaker.OnSuccess(permit);
            if (Volatile.Read(ref _journalCount) != 0)
            {
                StartReconcile();
            }

            return result;
        }
        catch (SessionPayloadTooLargeException)
        {
            // The store answered: it is healthy, the request is too big.
            CircuitBreaker.OnSuccess(permit);
            throw;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            CircuitBreaker.OnIgnored(permit);
            throw;
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            CircuitBreaker.OnFailure(permit);
            StateKitTelemetry.Rejections.Add(1, _storeTag, new(StateKitTelemetry.ReasonTag, "timeout"));
            Log.StoreCallTimedOut(_logger, operation, Name, _options.Timeout);
            throw new SessionStoreRejectedException(Name, SessionStoreRejectionReason.Timeout, TimeSpan.Zero, e);
        }
        catch (SessionStoreUnavailableException)
        {
            CircuitBreaker.OnFailure(permit);
            throw;
        }
        catch
        {
            // A bug or a bad argument says nothing about the store's availability.
            CircuitBreaker.OnIgnored(permit);
            throw;
        }
        finally
        {
            lease?.Dispose();
        }
    }

    private SessionStoreRejectedException Rejected()
    {
        var isolated = CircuitBreaker.State == CircuitState.Isolated;
        return new SessionStoreRejectedException(
            Name,
            isolated ? SessionStoreRejectionReason.CircuitIsolated : SessionStoreRejectionReason.CircuitOpen,
            CircuitBreaker.RetryAfter);
    }

    private static async ValueTask<SessionCommitResult> HandOverAsync(ValueTask<SessionCommitResult> pending, string primaryTicket)
    {
        var result = await pending.ConfigureAwait(false);

        // The client still carries the ticket minted during the outage: hand it the primary's.
        return result.Outcome == SessionCommitOutcome.Committed && result.Ticket is null ? result with { Ticket = primaryTicket } : result;
    }

    private bool TryGetRoute(string ticket, out OutageRoute route)
    {
        lock (_routesLock)
        {
            return _routes.TryGetValue(ticket, out route!);
        }
    }

    private async ValueTask<SessionSnapshot?> RoutedLoadAsync(OutageRoute route, CancellationToken cancellationToken)
    {
        StateKitTelemetry.FallbackCalls.Add(1, _storeTag, new(StateKitTelemetry.OperationTag, "load"));
        if (route.Deleted || route.FallbackTicket is not { } fallbackTicket)
        {
            return route.Deleted ? null : Placeholder();
        }

        return await _fallback.LoadAsync(fallbackTicket, cancellationToken).ConfigureAwait(false);
    }

    private ValueTask<SessionSnapshot?> DegradedLoadAsync(string ticket, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (Volatile.Read(ref _routeCount) != 0 && TryGetRoute(ticket, out var route) && route.ForwardTo is null)
        {
            return RoutedLoadAsync(route, cancellationToken);
        }

        StateKitTelemetry.FallbackCalls.Add(1, _storeTag, new(StateKitTelemetry.OperationTag, "load"));

        // Never seen by the fallback: an empty session that keeps its ticket, so writes can merge back into the primary's.
        return ValueTask.FromResult<SessionSnapshot?>(Placeholder());
    }

    private SessionSnapshot Placeholder()
    {
        var now = _time.GetUtcNow();
        return new SessionSnapshot(SessionIds.NewId(), 0, new Dictionary<string, ReadOnlyMemory<byte>>())
        {
            CreatedAt = now,
            LastAccessedAt = now,
            AbsoluteExpiresAt = now + StateKitDefaults.AbsoluteLifetime,
            IdleTimeout = StateKitDefaults.IdleTimeout,
        };
    }

    private async ValueTask<SessionCommitResult> DegradedCommitAsync(SessionCommit commit, CancellationToken cancellationToken)
    {
        if (commit.RotateId)
        {
            // The fallback cannot kill the old ticket in the primary: rotating now would leave a fixation window open.
            throw new SessionStoreRejectedException(Name, SessionStoreRejectionReason.NotAvailableDuringOutage, CircuitBreaker.RetryAfter);
        }

        StateKitTelemetry.FallbackCalls.Add(1, _storeTag, new(StateKitTelemetry.OperationTag, "commit"));
        var journal = _options.Outage == OutagePolicy.FallbackWithJournal;
        await _degradedGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            OutageRoute? route = null;
            if (commit.Ticket is not null && !TryGetRoute(commit.Ticket, out route))
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
            if (isNewRoute && journal)
            {
                MakeRoomInJournal();
            }

            SessionCommitResult result;
            if (commit.Revoke)
            {
                if (route?.FallbackTicket is { } fallbackTicket)
                {
                    await _fallback.CommitAsync(commit.Retarget(fallbackTicket, commit.RotateId), cancellationToken).ConfigureAwait(false);
                }

                result = SessionCommitResult.Deleted;
            }
            else if (route?.FallbackTicket is { } fallbackTicket)
            {
                var forFallback = commit.Retarget(fallbackTicket, commit.RotateId);
                result = await _fallback.CommitAsync(
                    commit.Mode == SessionCommitMode.RequireBaseVersion ? forFallback : new SessionCommit
                    {
                        Ticket = fallbackTicket,
                        Upserts = commit.Upserts,
                        Removals = commit.Removals,
                        ClearExisting = commit.ClearExisting,
                        BindUserId = commit.BindUserId,
                    },
                    cancellationToken).ConfigureAwait(false);
                if (result.Outcome == SessionCommitOutcome.Conflict)
                {
                    return result;
                }

                result = result with { Ticket = null };
            }
            else
            {
                // First write for this ticket in the fallback: seed it with what the request loaded from the primary, if anything.
                var seed = commit.Base is { Version: > 0 } loaded ? loaded.Values : null;
                var values = SessionPayload.Apply(seed, commit);
                result = values.Count == 0
                    ? (commit.Ticket is null ? SessionCommitResult.NoChange : SessionCommitResult.Deleted)
                    : await _fallback.CommitAsync(new SessionCommit { Upserts = values, BindUserId = commit.BindUserId ?? commit.Base?.UserId }, cancellationToken).ConfigureAwait(false);
            }

            if (result.Outcome == SessionCommitOutcome.NoChange)
            {
                return result;
            }

            if (route is null)
            {
                var clientTicket = commit.Ticket ?? result.Ticket!;
                route = new OutageRoute(clientTicket, commit.Ticket, Interlocked.Increment(ref _order))
                {
                    BaseVersion = commit.Base is { Version: > 0 } b ? b.Version : null,
                };
                AddRoute(route);
            }

            if (commit.Ticket is null || (isNewRoute && result.Outcome == SessionCommitOutcome.Committed))
            {
                route.FallbackTicket = result.Ticket ?? route.FallbackTicket;
            }

            if (result.Outcome == SessionCommitOutcome.Deleted)
            {
                route.Deleted = true;
                route.FallbackTicket = null;
            }

            if (journal)
            {
                if (!route.Journaled)
                {
                    route.Journaled = true;
                    Interlocked.Increment(ref _journalCount);
                    StateKitTelemetry.JournalDepth.Add(1, _storeTag);
                }

                route.Record(commit);
            }

            // A ticket the client already carries stays; a session born in the outage carries the fallback's.
            return commit.Ticket is null ? result : result with { Ticket = null };
        }
        finally
        {
            _degradedGate.Release();
        }
    }

    private void AddRoute(OutageRoute route)
    {
        lock (_routesLock)
        {
            _routes[route.ClientTicket] = route;
            Volatile.Write(ref _routeCount, _routes.Count);

            // Forwards of replayed sessions are kept for a while so clients pick up their primary ticket; bound them.
            if (_routes.Count > 2 * _options.JournalCapacity)
            {
                var oldest = _routes.Values.Where(r => r.ForwardTo is not null).OrderBy(r => r.Order).FirstOrDefault();
                if (oldest is not null)
                {
                    _routes.Remove(oldest.ClientTicket);
                    Volatile.Write(ref _routeCount, _routes.Count);
                }
            }
        }
    }

    private void RemoveRoute(OutageRoute route)
    {
        lock (_routesLock)
        {
            _routes.Remove(route.ClientTicket);
            Volatile.Write(ref _routeCount, _routes.Count);
        }
    }

    private void Unjournal(OutageRoute route)
    {
        if (route.Journaled)
        {
            route.Journaled = false;
            Interlocked.Decrement(ref _journalCount);
            StateKitTelemetry.JournalDepth.Add(-1, _storeTag);
        }
    }

    private void MakeRoomInJournal()
    {
        if (Volatile.Read(ref _journalCount) < _options.JournalCapacity)
        {
            return;
        }

        if (_options.JournalOverflow == JournalOverflowPolicy.RejectNew)
        {
            StateKitTelemetry.Rejections.Add(1, _storeTag, new(StateKitTelemetry.ReasonTag, "journal_full"));
            Log.JournalFull(_logger, Name, _options.JournalCapacity);
            throw new SessionStoreRejectedException(Name, SessionStoreRejectionReason.JournalFull, CircuitBreaker.RetryAfter);
        }

        OutageRoute? oldest;
        lock (_routesLock)
        {
            oldest = _routes.Values.Where(r => r.Journaled).OrderBy(r => r.Order).FirstOrDefault();
        }

        if (oldest is not null)
        {
            Unjournal(oldest);
            RemoveRoute(oldest);
            Interlocked.Increment(ref _droppedSinceReport);
            StateKitTelemetry.JournalDropped.Add(1, _storeTag, new(StateKitTelemetry.ReasonTag, "overflow"));
            Log.JournalEntryDropped(_logger, Name, _options.JournalCapacity);
        }
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
            lock (_routesLock)
            {
                _routes.Clear();
                Volatile.Write(ref _routeCount, 0);
            }
        }
        else if (Volatile.Read(ref _journalCount) != 0)
        {
            StartReconcile();
        }
    }

    /// <summary>The break is over: replay the journal, whose first call is the half-open probe. A failed probe re-opens the circuit and re-arms the timer.</summary>
    private void OnBreakElapsed()
    {
        if (Volatile.Read(ref _journalCount) == 0)
        {
            return;
        }

        // A timer may fire a tick before the breaker's own clock says the break is over: a pass now would only be rejected.
        var wait = CircuitBreaker.RetryAfter;
        if (wait > TimeSpan.Zero)
        {
            _recoveryTimer?.Change(wait, Timeout.InfiniteTimeSpan);
            return;
        }

        StartReconcile();
    }

    private void StartReconcile()
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

    private async Task<ReconciliationReport> ReconcileCoreAsync(CancellationToken cancellationToken)
    {
        OutageRoute[] pending;
        lock (_routesLock)
        {
            pending = _routes.Values.Where(r => r.Journaled).OrderBy(r => r.Order).ToArray();
        }

        int replayed = 0, merged = 0;
        foreach (var route in pending)
        {
            cancellationToken.ThrowIfCancellationRequested();
            await _degradedGate.WaitAsync(cancellationToken).ConfigureAwait(false);
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
                    StateKitTelemetry.JournalReplayed.Add(1, _storeTag);
                }
                else if (outcome == ReplayOutcome.Merged)
                {
                    merged++;
                    StateKitTelemetry.JournalMerged.Add(1, _storeTag);
                }
            }
            finally
            {
                _degradedGate.Release();
            }
        }

        var dropped = Interlocked.Exchange(ref _droppedSinceReport, 0);
        var report = new ReconciliationReport(replayed, merged, dropped, Volatile.Read(ref _journalCount));
        if (pending.Length > 0 || dropped > 0)
        {
            Log.Reconciled(_logger, Name, replayed, merged, dropped, report.Remaining);
            Reconciled?.Invoke(this, report);
        }

        return report;
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
                    await CallPrimaryAsync(new SessionCommit { Ticket = route.PrimaryTicket, Revoke = true }, cancellationToken).ConfigureAwait(false);
                }
                else if (!route.Deleted)
                {
                    await CreateInPrimaryAsync(route, cancellationToken).ConfigureAwait(false);
                }

                Finish(route, sequence);
                return ReplayOutcome.Replayed;
            }

            for (var attempt = 0; attempt < ResilienceDefaults.ReplayAttempts; attempt++)
            {
                var current = await LoadPrimaryAsync(route.PrimaryTicket, cancellationToken).ConfigureAwait(false);
                if (current is null)
                {
                    // Expired or revoked meanwhile: as for any blind write to a dead session, the outage's own keys start a new one.
                    await CreateInPrimaryAsync(route, cancellationToken).ConfigureAwait(false);
                    Finish(route, sequence);
                    return ReplayOutcome.Replayed;
                }

                var conflict = route.BaseVersion != current.Version;
                var commit = BuildReplay(route, current, conflict);
                var result = await CallPrimaryAsync(commit, cancellationToken).ConfigureAwait(false);
                if (result.Outcome != SessionCommitOutcome.Conflict)
                {
                    Finish(route, sequence);
                    return conflict ? ReplayOutcome.Merged : ReplayOutcome.Replayed;
                }
            }

            return ReplayOutcome.KeptConflicting;
        }
        catch (SessionStoreUnavailableException e)
        {
            Log.ReplayInterrupted(_logger, Name, e);
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

        var result = await CallPrimaryAsync(new SessionCommit { Upserts = upserts, BindUserId = route.BindUserId }, cancellationToken).ConfigureAwait(false);
        if (result.Ticket is { } primaryTicket)
        {
            route.ForwardTo = primaryTicket;
        }
    }

    private void Finish(OutageRoute route, long sequence)
    {
        if (route.Sequence != sequence)
        {
            // Written again while replaying: replay once more on the next pass (upserts are idempotent).
            return;
        }

        Unjournal(route);
        if (route.FallbackTicket is { } fallbackTicket)
        {
            // The primary holds it now; the fallback copy only costs memory.
            _ = _fallback.CommitAsync(new SessionCommit { Ticket = fallbackTicket, Revoke = true }, CancellationToken.None).AsTask();
            route.FallbackTicket = null;
        }

        if (route.ForwardTo is null)
        {
            RemoveRoute(route);
        }
    }

    private async Task<SessionSnapshot?> LoadPrimaryAsync(string ticket, CancellationToken cancellationToken)
    {
        var permit = CircuitBreaker.TryEnter();
        if (!permit.IsAllowed)
        {
            throw Rejected();
        }

        return await GuardAsync(permit, "load", ticket, static (store, t, ct) => store.LoadAsync(t, ct), cancellationToken).ConfigureAwait(false);
    }

    private async Task<SessionCommitResult> CallPrimaryAsync(SessionCommit commit, CancellationToken cancellationToken)
    {
        var permit = CircuitBreaker.TryEnter();
        if (!permit.IsAllowed)
        {
            throw Rejected();
        }

        return await GuardAsync(permit, "commit", commit, static (store, c, ct) => store.CommitAsync(c, ct), cancellationToken).ConfigureAwait(false);
    }

    private enum ReplayOutcome
    {
        Replayed,
        Merged,
        KeptConflicting,
        Interrupted,
    }
}
