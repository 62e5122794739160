using System;

namespace StateKit.Events;

/// <summary>The defaults and bounds of <see cref="SessionEventOptions"/>.</summary>
internal static class EventDefaults
{
    // A few seconds of a busy node's sign-ins and expiries: enough for a handler's hiccup, small enough to bound memory (~100 B an event).
    public const int QueueCapacity = 4096;
    public const int MaxQueueCapacity = 1_000_000;

    public static readonly TimeSpan ExpirySweepInterval = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan MinExpirySweepInterval = TimeSpan.FromMilliseconds(100);
    public static readonly TimeSpan MaxExpirySweepInterval = TimeSpan.FromDays(1);
}
