using System;
using System.Collections.Generic;

namespace StateKit.Events;

/// <summary>How session lifecycle events are queued and how often stores that hold sessions in memory look for expired ones.</summary>
/// <remarks>One set for the application: every store's events share one queue and one background reader.</remarks>
public sealed class SessionEventOptions
{
    /// <summary>
    /// Gets or sets how many events may wait for the handlers. When the queue is full a new event is dropped and counted in
    /// <c>statekit.events.dropped</c>: a slow handler costs events, never a commit's latency.
    /// </summary>
    /// <value>The default value is 4096.</value>
    public int QueueCapacity { get; set; } = EventDefaults.QueueCapacity;

    /// <summary>
    /// Gets or sets how often the in-memory and sticky stores look for sessions whose deadline passed, so that an expired
    /// session no request touches again is still reported. Each look costs only the expired sessions it finds.
    /// </summary>
    /// <value>The default value is 30 seconds.</value>
    public TimeSpan ExpirySweepInterval { get; set; } = EventDefaults.ExpirySweepInterval;

    internal List<string> GetValidationErrors()
    {
        var errors = new List<string>();
        if (QueueCapacity is < 1 or > EventDefaults.MaxQueueCapacity)
        {
            errors.Add($"SessionEventOptions.QueueCapacity is {QueueCapacity}; use 1 to {EventDefaults.MaxQueueCapacity} (the default {EventDefaults.QueueCapacity} holds a burst of a few seconds).");
        }

        if (ExpirySweepInterval < EventDefaults.MinExpirySweepInterval || ExpirySweepInterval > EventDefaults.MaxExpirySweepInterval)
        {
            errors.Add($"SessionEventOptions.ExpirySweepInterval is {ExpirySweepInterval}; use {EventDefaults.MinExpirySweepInterval} to {EventDefaults.MaxExpirySweepInterval}.");
        }

        return errors;
    }
}
