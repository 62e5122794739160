using System;
using StackExchange.Redis;
using StateKit.Resilience;

namespace StateKit.Redis;

/// <summary>The defaults of every Redis store option, in one place. docs/decisions.md says how the timeouts were chosen.</summary>
internal static class RedisDefaults
{
    public const string KeyPrefix = "statekit:";

    // Rotation copies the session, then retires the old one only if nobody wrote it meanwhile; this bounds the retries.
    public const int RotationAttempts = 5;

    // How many ids of a user's index a sign-in checks for pruning (a random sample, the new id possibly among them): every
    // one of a small index; for a user with thousands, a bounded cost per sign-in, while listings prune as they page.
    public const int IndexPruneSample = 17;

    // A sign-in under MaxSessionsPerUser re-reads the index when another changed it first; each retry means another bound.
    public const int LimitedBindAttempts = 50;

    // How long an indexed id without a key yet counts as a sign-in in flight (its create runs right after, one round trip).
    public static readonly TimeSpan BindLease = TimeSpan.FromSeconds(30);

    public const string Kind = "redis";

    // A healthy replica on the same network acknowledges in about a millisecond; half a second is a lost or lagging one.
    public static readonly TimeSpan ReplicaAckTimeout = TimeSpan.FromMilliseconds(500);

    // The bound a session call waits before it fails typed: far above a healthy load or commit (p99.9 of a few ms, the worst
    // healthy call seen under load on a shared 2-core box about 100 ms), far below StackExchange.Redis's own 5 s.
    public static readonly TimeSpan OperationTimeout = TimeSpan.FromMilliseconds(500);

    // How long an expiry's claim key outlives the notification: every node receives it within milliseconds, and an id never
    // comes back (128 random bits), so a minute is plenty and the keys clean themselves up.
    public static readonly TimeSpan ExpiryClaimLifetime = TimeSpan.FromMinutes(1);

    // After a failed connection or a topology change, how often and how long the expiry listener looks for a primary its
    // subscription does not cover. A Redis Cluster failover takes about twice cluster-node-timeout (15 s by default), and
    // the multiplexer learns of it after that; a scan of its server list every half second costs nothing next to it.
    public static readonly TimeSpan ExpiryWatchInterval = TimeSpan.FromMilliseconds(500);
    public static readonly TimeSpan ExpiryWatchPeriod = TimeSpan.FromMinutes(2);

    // While a primary has no subscriber, how often the expiry listener has the multiplexer reconfigure (StackExchange.Redis
    // itself reconfigures on a MOVED at most every 5 s).
    public static readonly TimeSpan ExpiryReconfigureInterval = TimeSpan.FromSeconds(5);

    // The store's own multiplexer: a backstop above OperationTimeout, so a command the guard gave up on leaves the
    // multiplexer's queue within a second instead of five, and a connect attempt to a dead host gives up as soon.
    public const int ClientTimeoutMilliseconds = 1000;

    // The breaker: opens once half the calls of the last 2 s fail (at least 10 of them), then probes every 5 s. The window
    // bounds how long an outage takes to open it under heavy traffic, when the successes just before it fill the window.
    public const double FailureRatio = 0.5;
    public const int MinimumThroughput = 10;
    public static readonly TimeSpan SamplingDuration = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan BreakDuration = TimeSpan.FromSeconds(5);

    /// <summary>The breaker <c>UseRedis</c> turns on: fail fast, with the timeouts above.</summary>
    public static void ApplyResilience(ResilienceOptions options)
    {
        options.Outage = OutagePolicy.FailFast;
        options.Timeout = OperationTimeout;
        options.CircuitBreaker.FailureRatio = FailureRatio;
        options.CircuitBreaker.MinimumThroughput = MinimumThroughput;
        options.CircuitBreaker.SamplingDuration = SamplingDuration;
        options.CircuitBreaker.BreakDuration = BreakDuration;
    }

    /// <summary>Sets the multiplexer timeouts the configuration string leaves unset; one it sets is kept.</summary>
    public static void ApplyClientTimeouts(ConfigurationOptions options, string configuration)
    {
        if (!Sets(configuration, "connectTimeout"))
        {
            options.ConnectTimeout = ClientTimeoutMilliseconds;
        }

        if (!Sets(configuration, "asyncTimeout"))
        {
            options.AsyncTimeout = ClientTimeoutMilliseconds;
        }

        if (!Sets(configuration, "syncTimeout"))
        {
            options.SyncTimeout = ClientTimeoutMilliseconds;
        }
    }

    private static bool Sets(string configuration, string option)
    {
        foreach (var part in configuration.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0 && part.AsSpan(0, eq).Trim().Equals(option, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
