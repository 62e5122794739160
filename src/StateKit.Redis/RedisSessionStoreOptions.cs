using System;
using System.Collections.Generic;
using StackExchange.Redis;

namespace StateKit.Redis;

/// <summary>Settings of <see cref="RedisSessionStore"/>.</summary>
public sealed class RedisSessionStoreOptions : SessionStoreOptions
{
    /// <summary>
    /// Gets or sets the StackExchange.Redis configuration string (e.g. <c>localhost:6379,abortConnect=false</c>), used when the
    /// store is not given an <see cref="IConnectionMultiplexer"/>. Timeouts set here (<c>connectTimeout</c>,
    /// <c>asyncTimeout</c>, <c>syncTimeout</c>) bound how long StackExchange.Redis waits before failing with
    /// <see cref="SessionStoreUnavailableException"/>; those left unset are 1000 ms (StackExchange.Redis's own default is 5 s).
    /// <c>UseRedis</c>'s circuit breaker bounds each call at 500 ms before that.
    /// </summary>
    /// <remarks>
    /// For Redis Sentinel, list the sentinels and name the service they monitor:
    /// <c>sentinel1:26379,sentinel2:26379,sentinel3:26379,serviceName=mymaster</c>. The store then asks the sentinels for the
    /// primary and follows their failovers; until they name a primary that answers, an operation fails with
    /// <see cref="SessionStoreUnavailableException"/> after <c>connectTimeout</c>. A configuration with no endpoint, an empty
    /// <c>serviceName</c>, or a <c>serviceName</c> with a <c>proxy</c> fails validation at start-up. See docs/redis.md.
    /// </remarks>
    /// <value>The default value is <see langword="null"/>: use the <see cref="IConnectionMultiplexer"/> registered in DI.</value>
    public string? Configuration { get; set; }

    /// <summary>
    /// Gets or sets the prefix of every Redis key the store writes, so that several apps (or environments) share one Redis.
    /// It must not contain <c>{</c> or <c>}</c>: the store puts the session id in a hash tag of its own.
    /// </summary>
    /// <value>The default value is <c>statekit:</c>.</value>
    public string KeyPrefix { get; set; } = RedisDefaults.KeyPrefix;

    /// <summary>
    /// Gets or sets what a <see cref="SessionCommitMode.MergeKeys"/> commit from a stale version does about a key that
    /// another request also changed since it loaded. Keys only one side changed are always merged.
    /// </summary>
    /// <value>The default value is <see cref="KeyConflictPolicy.LastWriterWins"/>.</value>
    public KeyConflictPolicy KeyConflictPolicy { get; set; } = KeyConflictPolicy.LastWriterWins;

    /// <summary>
    /// Gets or sets how many replicas must acknowledge each write before the store reports it: after every write the store
    /// sends Redis <c>WAIT numreplicas timeout</c> (pipelined with the write, so still one round trip), and throws
    /// <see cref="ReplicaAcknowledgementException"/> when fewer replicas acknowledged within <see cref="ReplicaAckTimeout"/>.
    /// </summary>
    /// <remarks>
    /// This narrows, but does not close, the window in which a failover loses an acknowledged write: Redis stays
    /// asynchronously replicated and a replica that acknowledged may still not be the one promoted. A failed
    /// acknowledgement does not undo the write on the primary; it only stops the store from reporting it as safe.
    /// <c>WAIT</c> blocks the connection it is sent on, so give a store that requires acknowledgements a multiplexer of its
    /// own. Servers without <c>WAIT</c> (Garnet, some proxies) fail the first write with <see cref="System.NotSupportedException"/>
    /// before anything is written. See docs/redis.md.
    /// </remarks>
    /// <value>The default value is 0: writes are reported as soon as the primary applied them.</value>
    public int RequireReplicaAcks { get; set; }

    /// <summary>
    /// Gets or sets how long each write waits for <see cref="RequireReplicaAcks"/> replicas to acknowledge it. Keep it well
    /// below the multiplexer's <c>asyncTimeout</c> and the resilience layer's timeout, so a lagging replica surfaces as
    /// <see cref="ReplicaAcknowledgementException"/> rather than as a timeout with an unknown outcome.
    /// </summary>
    /// <value>The default value is 500 milliseconds. Used only when <see cref="RequireReplicaAcks"/> is above 0.</value>
    public TimeSpan ReplicaAckTimeout { get; set; } = RedisDefaults.ReplicaAckTimeout;

    /// <summary>
    /// Gets or sets whether the store listens to keyspace notifications to report the sessions Redis expires, when the
    /// application subscribes to session events. Without them, expiry is reported only when a load meets a dead session.
    /// Listening is per standalone or sentinel-monitored primary; see docs/events.md.
    /// </summary>
    /// <value>The default value is <see cref="RedisExpiryNotifications.Detect"/>: listen when the server has them on; never change the server.</value>
    public RedisExpiryNotifications ExpiryNotifications { get; set; }

    /// <summary>
    /// Gets or sets whether a session Redis expired is reported by one node of the cluster rather than by every node that
    /// listens: each node claims the event with <c>SET key NX PX</c> (one short-lived key per expiry) and only the winner
    /// raises it. Other events are raised by the node that served the request, once, either way.
    /// </summary>
    /// <value>The default value is <see langword="false"/>: every listening node reports each expiry (once per node).</value>
    public bool ExpiryEventsOncePerCluster { get; set; }

    /// <summary>
    /// Gets or sets the most live sessions one user may have bound at once, or 0 for no limit; what happens past it is
    /// <see cref="SessionLimitPolicy"/>. Enforced atomically: on a standalone server or Sentinel by one script over the user's
    /// index and sessions; on Redis Cluster, where they live in different slots, by a decision in the user's slot over what
    /// the store read of the sessions just before (see docs/user-sessions.md).
    /// </summary>
    /// <value>The default value is 0 (no limit).</value>
    public int MaxSessionsPerUser { get; set; }

    /// <summary>Gets or sets what a sign-in past <see cref="MaxSessionsPerUser"/> does.</summary>
    /// <value>The default value is <see cref="UserSessionLimitPolicy.SignOutLeastRecentlyActive"/>.</value>
    public UserSessionLimitPolicy SessionLimitPolicy { get; set; }

    /// <summary>
    /// Gets or sets how old a session's stored last access may get before a load writes it again. A load is then two plain
    /// commands (<c>HGETALL</c> and <c>PEXPIRE</c>) in one round trip; only a load that finds the stored access this old also
    /// runs a small script, behind the request, to write it. The idle deadline is judged from the stored access, so a session
    /// only read may expire up to this interval before <see cref="SessionStoreOptions.IdleTimeout"/> has passed since its
    /// last request, never after; and the last-active time a listing shows lags by as much.
    /// <see cref="TimeSpan.Zero"/> writes it on every load, exactly, with a script in every load (see docs/redis.md).
    /// </summary>
    /// <value>The default value is <see langword="null"/>: a twentieth of <see cref="SessionStoreOptions.IdleTimeout"/> (1 minute for 20).</value>
    public TimeSpan? LastAccessWriteInterval { get; set; }

    /// <summary>The interval in force: <see cref="LastAccessWriteInterval"/>, or a twentieth of the idle timeout.</summary>
    internal TimeSpan LastAccessWrite => LastAccessWriteInterval ?? IdleTimeout / 20;

    /// <inheritdoc />
    protected override void CollectValidationErrors(ICollection<string> errors)
    {
        base.CollectValidationErrors(errors);
        UserSessionListing.CollectLimitErrors(MaxSessionsPerUser, SessionLimitPolicy, errors);
        if (KeyPrefix is null)
        {
            errors.Add("KeyPrefix must not be null; use an empty string for no prefix.");
        }
        else if (KeyPrefix.AsSpan().IndexOfAny('{', '}') >= 0)
        {
            errors.Add($"KeyPrefix must not contain '{{' or '}}' (was '{KeyPrefix}'): the store adds the session id as the key's cluster hash tag. Use e.g. 'myapp:'.");
        }

        if (LastAccessWriteInterval is { } interval && (interval < TimeSpan.Zero || interval > IdleTimeout / 2))
        {
            errors.Add($"LastAccessWriteInterval must be from zero to half the IdleTimeout (was {interval}, IdleTimeout {IdleTimeout}): a session only read may expire this much before its idle timeout. Leave it null for a twentieth of the IdleTimeout.");
        }

        if (!Enum.IsDefined(KeyConflictPolicy))
        {
            errors.Add($"KeyConflictPolicy {(int)KeyConflictPolicy} is not defined. Use KeyConflictPolicy.LastWriterWins or KeyConflictPolicy.Conflict.");
        }

        if (!Enum.IsDefined(ExpiryNotifications))
        {
            errors.Add($"ExpiryNotifications {(int)ExpiryNotifications} is not defined. Use RedisExpiryNotifications.Detect, Off or Enable.");
        }

        if (RequireReplicaAcks < 0)
        {
            errors.Add($"RequireReplicaAcks must be 0 (do not wait for replicas) or positive (was {RequireReplicaAcks}).");
        }

        if (RequireReplicaAcks > 0 && (ReplicaAckTimeout < TimeSpan.FromMilliseconds(1) || ReplicaAckTimeout.TotalMilliseconds > int.MaxValue))
        {
            // WAIT with a timeout of 0 blocks forever, and sub-millisecond values round down to it.
            errors.Add($"ReplicaAckTimeout must be between 1 ms and {int.MaxValue} ms when RequireReplicaAcks is {RequireReplicaAcks} (was {ReplicaAckTimeout}): Redis WAIT with 0 would block the connection forever. Use e.g. 500 ms.");
        }

        if (!string.IsNullOrWhiteSpace(Configuration))
        {
            try
            {
                CollectConfigurationErrors(ConfigurationOptions.Parse(Configuration), errors);
            }
            catch (ArgumentException e)
            {
                errors.Add($"Configuration is not a valid StackExchange.Redis configuration string: {e.Message} Example: 'localhost:6379,abortConnect=false'.");
            }
        }
    }

    /// <summary>
    /// What StackExchange.Redis would only report at the first operation: no endpoint, and a sentinel configuration
    /// (<c>serviceName=...</c>) it cannot follow. There the endpoints are the sentinels; the primary is found through them.
    /// </summary>
    private static void CollectConfigurationErrors(ConfigurationOptions parsed, ICollection<string> errors)
    {
        var sentinel = !string.IsNullOrEmpty(parsed.ServiceName);
        if (parsed.EndPoints.Count == 0)
        {
            errors.Add(sentinel
                ? $"Configuration names service '{parsed.ServiceName}' but no sentinel to ask for it. List the sentinels, e.g. 'sentinel1:26379,sentinel2:26379,sentinel3:26379,serviceName={parsed.ServiceName}'."
                : "Configuration names no endpoint. Example: 'localhost:6379,abortConnect=false'.");
        }

        if (parsed.ServiceName is { } name && string.IsNullOrWhiteSpace(name))
        {
            errors.Add("Configuration has an empty serviceName. Name the service the sentinels monitor (serviceName=mymaster), or remove serviceName to connect to the endpoints directly.");
        }

        if (sentinel && parsed.Proxy != Proxy.None)
        {
            errors.Add($"Configuration combines serviceName={parsed.ServiceName} with proxy={parsed.Proxy}: a proxy cannot be discovered through sentinels. Remove one of them.");
        }
    }
}
