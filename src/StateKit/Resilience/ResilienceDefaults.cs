using System;

namespace StateKit.Resilience;

/// <summary>The defaults of every resilience option, in one place.</summary>
internal static class ResilienceDefaults
{
    public const double FailureRatio = 0.5;
    public const int MinimumThroughput = 10;
    public static readonly TimeSpan SamplingDuration = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan BreakDuration = TimeSpan.FromSeconds(15);
    public const int HalfOpenMaxProbes = 1;

    // A session load or commit is one round trip: a healthy store answers in milliseconds; two seconds is an outage.
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    // Enough for a busy node's steady state; a stalled store fills it in a fraction of a second and then sheds.
    public const int MaxConcurrentCalls = 256;

    // Sessions (not writes) the journal holds: writes to one session coalesce into one entry.
    public const int JournalCapacity = 10_000;

    public const int ReplayAttempts = 3;

    public const int BucketCount = 10;
}
