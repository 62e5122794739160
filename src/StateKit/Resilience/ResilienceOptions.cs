using System;
using System.Collections.Generic;
using System.Threading;
using Microsoft.Extensions.Options;

namespace StateKit.Resilience;

/// <summary>How a <see cref="ResilientSessionStore"/> guards its store: timeout, concurrency limit, circuit breaker, outage policy and journal.</summary>
public sealed class ResilienceOptions
{
    /// <summary>Gets or sets the name of the guarded store in metrics, logs, events and exceptions.</summary>
    /// <value>The default value is <see langword="null"/>: the DI store name, or <c>store</c>.</value>
    public string? Name { get; set; }

    /// <summary>Gets when the circuit opens and how it recovers.</summary>
    public CircuitBreakerOptions CircuitBreaker { get; } = new();

    /// <summary>Gets or sets how long one store call may take before it is abandoned and counted as a failure. <see cref="Timeout.InfiniteTimeSpan"/> disables it.</summary>
    /// <value>The default value is 2 seconds.</value>
    public TimeSpan Timeout { get; set; } = ResilienceDefaults.Timeout;

    /// <summary>Gets or sets how many calls may be in flight to the store at once; more are shed with <see cref="SessionStoreRejectionReason.ConcurrencyLimit"/>. 0 disables the limit.</summary>
    /// <value>The default value is 256.</value>
    public int MaxConcurrentCalls { get; set; } = ResilienceDefaults.MaxConcurrentCalls;

    /// <summary>Gets or sets what the store does while its circuit is open.</summary>
    /// <value>The default value is <see cref="OutagePolicy.FailFast"/>: nothing is ever reported saved that was not.</value>
    public OutagePolicy Outage { get; set; } = OutagePolicy.FailFast;

    /// <summary>Gets or sets how many sessions the outage journal holds (writes to one session coalesce into one entry).</summary>
    /// <value>The default value is 10 000.</value>
    public int JournalCapacity { get; set; } = ResilienceDefaults.JournalCapacity;

    /// <summary>Gets or sets what happens when the journal is full and another session writes.</summary>
    /// <value>The default value is <see cref="JournalOverflowPolicy.RejectNew"/>.</value>
    public JournalOverflowPolicy JournalOverflow { get; set; } = JournalOverflowPolicy.RejectNew;

    /// <summary>Gets or sets how a replayed key that conflicts with the primary's newer version is resolved.</summary>
    /// <value>The default value is <see langword="null"/>: per-key last writer wins (the outage's value).</value>
    public SessionMergeHandler? Merge { get; set; }

    /// <summary>Lists every invalid setting, one message each, saying how to fix it.</summary>
    /// <returns>The messages; empty when the options are valid.</returns>
    public IReadOnlyList<string> GetValidationErrors()
    {
        var errors = new List<string>();
        CircuitBreaker.CollectValidationErrors(errors, "CircuitBreaker.");
        if (Timeout <= TimeSpan.Zero && Timeout != System.Threading.Timeout.InfiniteTimeSpan)
        {
            errors.Add($"Timeout must be positive or Timeout.InfiniteTimeSpan (was {Timeout}). Set it just above the store's slowest healthy answer, e.g. 2 seconds.");
        }

        if (MaxConcurrentCalls < 0)
        {
            errors.Add($"MaxConcurrentCalls must be 0 (no limit) or positive (was {MaxConcurrentCalls}).");
        }

        if (!Enum.IsDefined(Outage))
        {
            errors.Add($"Outage must be FailFast, FallbackWithJournal or Fallback (was {(int)Outage}).");
        }

        if (JournalCapacity < 1)
        {
            errors.Add($"JournalCapacity must be at least 1 (was {JournalCapacity}). It bounds how many sessions an outage can journal, e.g. 10000.");
        }

        if (!Enum.IsDefined(JournalOverflow))
        {
            errors.Add($"JournalOverflow must be RejectNew or DropOldest (was {(int)JournalOverflow}).");
        }

        return errors;
    }

    internal void ThrowIfInvalid()
    {
        OptionsValidation.ThrowIfAny(typeof(ResilienceOptions), GetValidationErrors(), Name);
    }
}
