using System;
using System.Collections.Generic;

namespace StateKit.Resilience;

/// <summary>When a <see cref="CircuitBreaker"/> opens, how long it stays open, and how it probes before closing.</summary>
public sealed class CircuitBreakerOptions
{
    /// <summary>Gets or sets the share of failed calls in the sampling window at or above which the circuit opens.</summary>
    /// <value>The default value is 0.5.</value>
    public double FailureRatio { get; set; } = ResilienceDefaults.FailureRatio;

    /// <summary>
    /// Gets or sets how many calls the sampling window must hold before the ratio can open the circuit, so that
    /// one failure in a quiet minute does not cut a store off.
    /// </summary>
    /// <value>The default value is 10.</value>
    public int MinimumThroughput { get; set; } = ResilienceDefaults.MinimumThroughput;

    /// <summary>Gets or sets the sliding window over which outcomes are counted. It slides in tenths.</summary>
    /// <value>The default value is 30 seconds.</value>
    public TimeSpan SamplingDuration { get; set; } = ResilienceDefaults.SamplingDuration;

    /// <summary>Gets or sets how long the circuit stays open before it lets probe calls through.</summary>
    /// <value>The default value is 15 seconds.</value>
    public TimeSpan BreakDuration { get; set; } = ResilienceDefaults.BreakDuration;

    /// <summary>Gets or sets how many calls may be in flight as probes while half-open; others are rejected as if open.</summary>
    /// <value>The default value is 1.</value>
    public int HalfOpenMaxProbes { get; set; } = ResilienceDefaults.HalfOpenMaxProbes;

    /// <summary>Lists every invalid setting, one message each, saying how to fix it.</summary>
    /// <returns>The messages; empty when the options are valid.</returns>
    public IReadOnlyList<string> GetValidationErrors()
    {
        var errors = new List<string>();
        CollectValidationErrors(errors, string.Empty);
        return errors;
    }

    internal void CollectValidationErrors(List<string> errors, string prefix)
    {
        if (!(FailureRatio > 0 && FailureRatio <= 1))
        {
            errors.Add($"{prefix}FailureRatio must be in (0, 1] (was {FailureRatio}). 0.5 opens the circuit when half the sampled calls fail.");
        }

        if (MinimumThroughput < 1)
        {
            errors.Add($"{prefix}MinimumThroughput must be at least 1 (was {MinimumThroughput}). Set how many calls the window needs before it can open, e.g. 10.");
        }

        if (SamplingDuration < TimeSpan.FromMilliseconds(100))
        {
            errors.Add($"{prefix}SamplingDuration must be at least 100 ms (was {SamplingDuration}). It is split into ten buckets; 30 seconds is a good start.");
        }

        if (BreakDuration <= TimeSpan.Zero)
        {
            errors.Add($"{prefix}BreakDuration must be positive (was {BreakDuration}). Set how long an open circuit waits before probing, e.g. 15 seconds.");
        }

        if (HalfOpenMaxProbes < 1)
        {
            errors.Add($"{prefix}HalfOpenMaxProbes must be at least 1 (was {HalfOpenMaxProbes}).");
        }
    }
}
