using System;

namespace StateKit.Resilience;

/// <summary>
/// The resilience layer refused a store call: the circuit is open, the store is saturated or too slow, or the outage
/// journal is full. It is a <see cref="SessionStoreUnavailableException"/>, so one <c>catch</c> handles every outage.
/// </summary>
public sealed class SessionStoreRejectedException : SessionStoreUnavailableException
{
    /// <summary>Initializes a new instance of the <see cref="SessionStoreRejectedException"/> class.</summary>
    /// <param name="storeName">The store that was not called.</param>
    /// <param name="reason">Why.</param>
    /// <param name="retryAfter">When trying again may succeed; <see cref="TimeSpan.Zero"/> when unknown.</param>
    /// <param name="innerException">The cause, when there is one (a <see cref="TimeoutException"/>).</param>
    public SessionStoreRejectedException(string storeName, SessionStoreRejectionReason reason, TimeSpan retryAfter, Exception? innerException = null)
        : base(MessageFor(storeName, reason, retryAfter), innerException)
    {
        StoreName = storeName;
        Reason = reason;
        RetryAfter = retryAfter;
    }

    /// <summary>Gets the store that was not called.</summary>
    public string StoreName { get; }

    /// <summary>Gets why the call was refused.</summary>
    public SessionStoreRejectionReason Reason { get; }

    /// <summary>Gets when trying again may succeed; <see cref="TimeSpan.Zero"/> when unknown.</summary>
    public TimeSpan RetryAfter { get; }

    private static string MessageFor(string store, SessionStoreRejectionReason reason, TimeSpan retryAfter) => reason switch
    {
        SessionStoreRejectionReason.CircuitOpen => $"Session store '{store}' is unavailable: its circuit is open after repeated failures (retry after {retryAfter}). Nothing was written; the request keeps its changes.",
        SessionStoreRejectionReason.CircuitIsolated => $"Session store '{store}' was isolated by hand (CircuitBreaker.Isolate). Nothing was written; call CircuitBreaker.Reset to resume.",
        SessionStoreRejectionReason.ConcurrencyLimit => $"Session store '{store}' is saturated: the call was shed instead of queued (ResilienceOptions.MaxConcurrentCalls). Nothing was written.",
        SessionStoreRejectionReason.Timeout => $"Session store '{store}' did not answer within ResilienceOptions.Timeout; the call was abandoned and its outcome is unknown.",
        SessionStoreRejectionReason.JournalFull => $"Session store '{store}' is in an outage and its journal is full (ResilienceOptions.JournalCapacity, JournalOverflow = RejectNew). Nothing was written.",
        _ => $"Session store '{store}' is in an outage and the fallback store cannot honour this operation safely (an id rotation must kill the old ticket in the primary). Nothing was written.",
    };
}
