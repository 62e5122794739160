using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.RateLimiting;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using StateKit.Diagnostics;

namespace StateKit.Resilience;

/// <summary>
/// Guards each call to the primary store: asks the breaker, holds a concurrency permit, bounds the call with the
/// timeout, and reports the outcome to the breaker. Knows nothing of outages beyond saying no.
/// </summary>
internal sealed class StoreCallGuard : IDisposable
{
    private readonly ISessionStore _primary;
    private readonly TimeSpan _timeout;
    private readonly int _maxConcurrentCalls;
    private readonly ConcurrencyLimiter? _limiter;
    private readonly OutageJournal _journal;
    private readonly Action _journalPending;

    /// <param name="primary">The store to guard.</param>
    /// <param name="breaker">The breaker that says whether a call may go to the primary.</param>
    /// <param name="options">The validated settings.</param>
    /// <param name="time">The clock.</param>
    /// <param name="logger">The logger.</param>
    /// <param name="journal">The outage journal, to notice when the primary answers while writes wait for replay.</param>
    /// <param name="journalPending">Called after a call succeeded while the journal holds sessions.</param>
    public StoreCallGuard(ISessionStore primary, CircuitBreaker breaker, ResilienceOptions options, TimeProvider time, ILogger logger, OutageJournal journal, Action journalPending)
    {
        _primary = primary;
        Breaker = breaker;
        Name = breaker.Name;
        Time = time;
        Logger = logger;
        StoreTag = new(StateKitTelemetry.StoreTag, Name);
        _timeout = options.Timeout;
        _maxConcurrentCalls = options.MaxConcurrentCalls;
        _journal = journal;
        _journalPending = journalPending;
        if (options.MaxConcurrentCalls > 0)
        {
            // No queue: a store that cannot keep up sheds at once instead of piling requests up behind it.
            _limiter = new ConcurrencyLimiter(new ConcurrencyLimiterOptions { PermitLimit = options.MaxConcurrentCalls, QueueLimit = 0 });
        }
    }

    public string Name { get; }

    public CircuitBreaker Breaker { get; }

    public TimeProvider Time { get; }

    public ILogger Logger { get; }

    public KeyValuePair<string, object?> StoreTag { get; }

    public SessionStoreCapabilities PrimaryCapabilities => _primary.Capabilities;

    /// <summary>Gets the guarded store (for tests that check what a registration stacked).</summary>
    public ISessionStore Primary => _primary;

    /// <summary>Asks the breaker whether a call may go to the primary.</summary>
    public CircuitPermit TryEnter() => Breaker.TryEnter();

    public ValueTask<SessionSnapshot?> LoadAsync(CircuitPermit permit, string ticket, CancellationToken cancellationToken)
        => CallAsync(permit, "load", ticket, static (store, t, ct) => store.LoadAsync(t, ct), cancellationToken);

    public ValueTask<SessionCommitResult> CommitAsync(CircuitPermit permit, SessionCommit commit, CancellationToken cancellationToken)
        => CallAsync(permit, "commit", commit, static (store, c, ct) => store.CommitAsync(c, ct), cancellationToken);

    public ValueTask<bool> RevokeAsync(CircuitPermit permit, string sessionId, CancellationToken cancellationToken)
        => CallAsync(permit, "revoke", sessionId, static (store, id, ct) => store.RevokeAsync(id, ct), cancellationToken);

    public ValueTask<int> RevokeUserAsync(CircuitPermit permit, string userId, CancellationToken cancellationToken)
        => CallAsync(permit, "revoke_user", userId, static (store, id, ct) => store.RevokeUserAsync(id, ct), cancellationToken);

    public ValueTask<UserSessionPage> ListUserSessionsAsync(CircuitPermit permit, string userId, string? continuationToken, int pageSize, CancellationToken cancellationToken)
        => CallAsync(
            permit,
            "list_user_sessions",
            (userId, continuationToken, pageSize),
            static (store, a, ct) => ((ISessionLister)store).ListUserSessionsAsync(a.userId, a.continuationToken, a.pageSize, ct),
            cancellationToken);

    public ValueTask<bool> RevokeUserSessionAsync(CircuitPermit permit, string userId, string publicId, CancellationToken cancellationToken)
        => CallAsync(
            permit,
            "revoke_user_session",
            (userId, publicId),
            static (store, a, ct) => ((ISessionLister)store).RevokeUserSessionAsync(a.userId, a.publicId, ct),
            cancellationToken);

    /// <summary>Loads from the primary, or throws the rejection when the breaker says no (for the replay, which has no fallback).</summary>
    public async Task<SessionSnapshot?> LoadOrThrowAsync(string ticket, CancellationToken cancellationToken)
    {
        var permit = TryEnter();
        if (!permit.IsAllowed)
        {
            throw Rejected();
        }

        return await LoadAsync(permit, ticket, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Commits to the primary, or throws the rejection when the breaker says no (for the replay, which has no fallback).</summary>
    public async Task<SessionCommitResult> CommitOrThrowAsync(SessionCommit commit, CancellationToken cancellationToken)
    {
        var permit = TryEnter();
        if (!permit.IsAllowed)
        {
            throw Rejected();
        }

        return await CommitAsync(permit, commit, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The exception for a call the breaker refused.</summary>
    public SessionStoreRejectedException Rejected()
    {
        var isolated = Breaker.State == CircuitState.Isolated;
        return new SessionStoreRejectedException(
            Name,
            isolated ? SessionStoreRejectionReason.CircuitIsolated : SessionStoreRejectionReason.CircuitOpen,
            Breaker.RetryAfter);
    }

    /// <summary>Releases the concurrency limiter.</summary>
    public void Dispose() => _limiter?.Dispose();

    private async ValueTask<TResult> CallAsync<TArg, TResult>(
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
                Breaker.OnIgnored(permit);
                StateKitTelemetry.Rejections.Add(1, StoreTag, new(StateKitTelemetry.ReasonTag, "concurrency_limit"));
                Log.StoreCallShed(Logger, operation, Name, _maxConcurrentCalls);
                throw new SessionStoreRejectedException(Name, SessionStoreRejectionReason.ConcurrencyLimit, TimeSpan.Zero);
            }
        }

        try
        {
            TResult result;
            if (_timeout == Timeout.InfiniteTimeSpan)
            {
                result = await call(_primary, arg, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                // The store gets a token that fires at the deadline; WaitAsync bounds the wait even for a store that ignores it.
                using var deadline = new CancellationTokenSource(_timeout, Time);
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
                var pending = call(_primary, arg, linked.Token);
                result = pending.IsCompletedSuccessfully
                    ? pending.Result
                    : await pending.AsTask().WaitAsync(_timeout, Time, cancellationToken).ConfigureAwait(false);
            }

            Breaker.OnSuccess(permit);
            if (_journal.HasPending)
            {
                _journalPending();
            }

            return result;
        }
        catch (SessionPayloadTooLargeException)
        {
            // The store answered: it is healthy, the request is too big.
            Breaker.OnSuccess(permit);
            throw;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Breaker.OnIgnored(permit);
            throw;
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            Breaker.OnFailure(permit);
            StateKitTelemetry.Rejections.Add(1, StoreTag, new(StateKitTelemetry.ReasonTag, "timeout"));
            Log.StoreCallTimedOut(Logger, operation, Name, _timeout);
            throw new SessionStoreRejectedException(Name, SessionStoreRejectionReason.Timeout, TimeSpan.Zero, e);
        }
        catch (SessionStoreUnavailableException)
        {
            Breaker.OnFailure(permit);
            throw;
        }
        catch
        {
            // A bug or a bad argument says nothing about the store's availability.
            Breaker.OnIgnored(permit);
            throw;
        }
        finally
        {
            lease?.Dispose();
        }
    }
}
