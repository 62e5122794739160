using System;
using Microsoft.Extensions.Logging;

namespace StateKit.Redis;

/// <summary>
/// The Redis store's log events, ids 100 and up (the core uses 1-99). Ids and names are a shipped contract: never
/// renumber, only add. Session ids are bearer secrets, so no event carries one.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 100, EventName = "RedisTicketRejected", Level = LogLevel.Debug, Message = "A ticket was rejected before reaching Redis and loads as no session: {Reason}.")]
    public static partial void TicketRejected(ILogger logger, string reason);

    [LoggerMessage(EventId = 101, EventName = "RedisScriptReloaded", Level = LogLevel.Debug, Message = "Redis did not know the '{Script}' script (NOSCRIPT); sent it in full once.")]
    public static partial void ScriptReloaded(ILogger logger, string script);

    [LoggerMessage(EventId = 102, EventName = "RedisPayloadTooLarge", Level = LogLevel.Warning, Message = "A commit was refused: the session would be {Size} bytes, over the limit of {Limit} bytes.")]
    public static partial void PayloadTooLarge(ILogger logger, long size, long limit);

    [LoggerMessage(EventId = 103, EventName = "RedisUnavailable", Level = LogLevel.Error, Message = "Redis at {Endpoints} failed during {Operation}.")]
    public static partial void Unavailable(ILogger logger, string endpoints, string operation, Exception exception);

    [LoggerMessage(EventId = 104, EventName = "RedisRotationRetried", Level = LogLevel.Debug, Message = "A session was written during its id rotation; copying it again (attempt {Attempt}).")]
    public static partial void RotationRetried(ILogger logger, int attempt);

    [LoggerMessage(EventId = 105, EventName = "RedisUserIndexPruned", Level = LogLevel.Debug, Message = "Pruned {Count} dead session ids from a user index.")]
    public static partial void UserIndexPruned(ILogger logger, int count);

    [LoggerMessage(EventId = 136, EventName = "RedisLastAccessWriteFailed", Level = LogLevel.Debug, Message = "Writing a session's last access behind its load failed; the next load that finds it stale writes it again.")]
    public static partial void LastAccessWriteFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 135, EventName = "RedisUserLimitAcrossSlots", Level = LogLevel.Information, Message = "The Redis server refused MaxSessionsPerUser's one-script check as cross-slot (Redis Cluster); this store now enforces the limit with the decision in the user's slot (docs/user-sessions.md).")]
    public static partial void UserLimitAcrossSlots(ILogger logger);

    [LoggerMessage(EventId = 106, EventName = "RedisReplicaAcksMissing", Level = LogLevel.Warning, Message = "A {Operation} was applied on the Redis primary at {Endpoints}, but only {Acknowledged} of {Required} replicas acknowledged it within {Timeout}; it is reported as failed.")]
    public static partial void ReplicaAcksMissing(ILogger logger, string operation, string endpoints, long acknowledged, int required, TimeSpan timeout);

    [LoggerMessage(EventId = 107, EventName = "RedisWaitNotSupported", Level = LogLevel.Error, Message = "RequireReplicaAcks is {Required}, but the server at {Endpoints} does not support WAIT; no write is attempted.")]
    public static partial void WaitNotSupported(ILogger logger, int required, string endpoints, Exception exception);

    [LoggerMessage(EventId = 108, EventName = "RedisInvalidationBusFlushed", Level = LogLevel.Information, Message = "A Redis {ConnectionType} connection changed state ({FailureType}); near caches drop everything, since invalidations may have been missed.")]
    public static partial void InvalidationBusFlushed(ILogger logger, StackExchange.Redis.ConnectionType connectionType, StackExchange.Redis.ConnectionFailureType failureType);

    [LoggerMessage(EventId = 109, EventName = "RedisInvalidationSubscribeFailed", Level = LogLevel.Warning, Message = "Subscribing to near-cache invalidations on '{Channel}' failed; it is retried when the connection is restored.")]
    public static partial void InvalidationSubscribeFailed(ILogger logger, string channel, Exception exception);

    [LoggerMessage(EventId = 119, EventName = "RedisWarmUpNotConnected", Level = LogLevel.Warning, Message = "The Redis store '{StoreName}' could not connect to {Endpoints} while the host started; it keeps trying, and each operation fails typed until it connects.")]
    public static partial void RedisWarmUpNotConnected(ILogger logger, string storeName, string endpoints);

    // Session lifecycle events (issue 16): 130-139.
    [LoggerMessage(EventId = 130, EventName = "RedisExpiryNotificationsListening", Level = LogLevel.Information, Message = "The Redis store '{StoreName}' listens to keyspace notifications on {Channel} (notify-keyspace-events '{Flags}'): sessions Redis expires are reported.")]
    public static partial void ExpiryNotificationsListening(ILogger logger, string storeName, string channel, string flags);

    [LoggerMessage(EventId = 131, EventName = "RedisExpiryNotificationsOff", Level = LogLevel.Information, Message = "The Redis server of store '{StoreName}' has notify-keyspace-events '{Flags}', without expired events: a session Redis expires is reported only if a load meets it first. Set notify-keyspace-events to include 'Ex', or RedisSessionStoreOptions.ExpiryNotifications = Enable.")]
    public static partial void ExpiryNotificationsOff(ILogger logger, string storeName, string flags);

    [LoggerMessage(EventId = 137, EventName = "RedisExpiryNotificationsPartlyOff", Level = LogLevel.Warning, Message = "Some primaries of the Redis store '{StoreName}' have notify-keyspace-events without expired events ({Endpoints}): a session Redis expires there is reported only if a load meets it first. Set notify-keyspace-events to include 'Ex' on every node, or RedisSessionStoreOptions.ExpiryNotifications = Enable.")]
    public static partial void ExpiryNotificationsPartlyOff(ILogger logger, string storeName, string endpoints);

    [LoggerMessage(EventId = 138, EventName = "RedisExpiryNotificationsResubscribed", Level = LogLevel.Information, Message = "A Redis primary had no subscriber to expired keyspace notifications (a failover, or a new node); the Redis store '{StoreName}' had its connection reconfigured, which subscribes it there.")]
    public static partial void ExpiryNotificationsResubscribed(ILogger logger, string storeName);

    [LoggerMessage(EventId = 132, EventName = "RedisExpiryNotificationsUnknown", Level = LogLevel.Information, Message = "The Redis store '{StoreName}' could not read notify-keyspace-events ({Error}); it listens to expired events anyway, and reports them if the server sends them.")]
    public static partial void ExpiryNotificationsUnknown(ILogger logger, string storeName, string error);

    [LoggerMessage(EventId = 133, EventName = "RedisExpiryNotificationsFailed", Level = LogLevel.Warning, Message = "The Redis store '{StoreName}' could not listen to keyspace notifications; a session Redis expires is reported only if a load meets it first.")]
    public static partial void ExpiryNotificationsFailed(ILogger logger, string storeName, Exception exception);

    [LoggerMessage(EventId = 134, EventName = "RedisExpiryClaimFailed", Level = LogLevel.Warning, Message = "The Redis store '{StoreName}' could not claim an expiry event for this node; it reports it anyway, so another node may report it too.")]
    public static partial void ExpiryClaimFailed(ILogger logger, string storeName, Exception exception);
}
