using System;
using Microsoft.Extensions.Logging;

namespace StateKit.Diagnostics;

/// <summary>
/// StateKit's log events. Ids and names are a shipped contract: never renumber, only add.
/// Session ids are bearer secrets, so no event carries one.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1, EventName = "SessionEvicted", Level = LogLevel.Debug, Message = "Evicted the least recently used session to stay within {Bound}.")]
    public static partial void SessionEvicted(ILogger logger, string bound);

    [LoggerMessage(EventId = 2, EventName = "TicketRejected", Level = LogLevel.Debug, Message = "A ticket was rejected and loads as no session: {Reason}.")]
    public static partial void TicketRejected(ILogger logger, string reason);

    [LoggerMessage(EventId = 3, EventName = "PayloadTooLarge", Level = LogLevel.Warning, Message = "A commit was refused: the session would be {Size} bytes, over the limit of {Limit} bytes.")]
    public static partial void PayloadTooLarge(ILogger logger, long size, long limit);

    [LoggerMessage(EventId = 4, EventName = "CorruptPayload", Level = LogLevel.Warning, Message = "A stored session payload could not be read; it loads as no session.")]
    public static partial void CorruptPayload(ILogger logger);

    [LoggerMessage(EventId = 5, EventName = "BackendFailed", Level = LogLevel.Error, Message = "The session store's backend failed during {Operation}.")]
    public static partial void BackendFailed(ILogger logger, string operation, Exception exception);

    // 20-39: client-held stores. Key ids are not secrets (every ticket carries one); key material never reaches a log.
    [LoggerMessage(EventId = 20, EventName = "EphemeralKeyInUse", Level = LogLevel.Warning, Message = "The client-side store is sealing with an ephemeral development key: every restart signs everyone out and other nodes cannot open its tickets. Configure Keys before going to production.")]
    public static partial void EphemeralKeyInUse(ILogger logger);

    [LoggerMessage(EventId = 21, EventName = "TicketOpenedWithRetiredKey", Level = LogLevel.Debug, Message = "A ticket sealed with retired key {KeyId} was opened; its next commit re-seals it with key {CurrentKeyId}.")]
    public static partial void TicketOpenedWithRetiredKey(ILogger logger, int keyId, int currentKeyId);

    // 60-79: resilience, tiering and the near cache.
    [LoggerMessage(EventId = 60, EventName = "CircuitOpened", Level = LogLevel.Warning, Message = "The circuit of store {Store} opened: calls are rejected for {BreakDuration}.")]
    public static partial void CircuitOpened(ILogger logger, string store, TimeSpan breakDuration);

    [LoggerMessage(EventId = 61, EventName = "CircuitHalfOpened", Level = LogLevel.Information, Message = "The circuit of store {Store} is half-open: probing the store.")]
    public static partial void CircuitHalfOpened(ILogger logger, string store);

    [LoggerMessage(EventId = 62, EventName = "CircuitClosed", Level = LogLevel.Information, Message = "The circuit of store {Store} closed: the store answers again.")]
    public static partial void CircuitClosed(ILogger logger, string store);

    [LoggerMessage(EventId = 63, EventName = "CircuitIsolated", Level = LogLevel.Warning, Message = "The circuit of store {Store} was isolated by hand: calls are rejected until it is reset.")]
    public static partial void CircuitIsolated(ILogger logger, string store);

    [LoggerMessage(EventId = 64, EventName = "StoreCallTimedOut", Level = LogLevel.Warning, Message = "A {Operation} on store {Store} did not finish within {Timeout} and was abandoned.")]
    public static partial void StoreCallTimedOut(ILogger logger, string operation, string store, TimeSpan timeout);

    [LoggerMessage(EventId = 65, EventName = "StoreCallShed", Level = LogLevel.Warning, Message = "A {Operation} on store {Store} was shed: {Limit} calls are already in flight.")]
    public static partial void StoreCallShed(ILogger logger, string operation, string store, int limit);

    [LoggerMessage(EventId = 66, EventName = "JournalEntryDropped", Level = LogLevel.Error, Message = "Store {Store}: the outage journal is full ({Capacity} sessions); the oldest session's journaled writes were dropped and will not reach the primary.")]
    public static partial void JournalEntryDropped(ILogger logger, string store, int capacity);

    [LoggerMessage(EventId = 67, EventName = "JournalFull", Level = LogLevel.Error, Message = "Store {Store}: the outage journal is full ({Capacity} sessions); a commit of a new session was refused.")]
    public static partial void JournalFull(ILogger logger, string store, int capacity);

    [LoggerMessage(EventId = 68, EventName = "Reconciled", Level = LogLevel.Information, Message = "Store {Store} reconciled its outage journal: {Replayed} replayed, {Merged} merged, {Dropped} dropped, {Remaining} remaining.")]
    public static partial void Reconciled(ILogger logger, string store, int replayed, int merged, int dropped, int remaining);

    [LoggerMessage(EventId = 69, EventName = "ReplayInterrupted", Level = LogLevel.Warning, Message = "Store {Store}: replaying the outage journal stopped because the primary failed again; the rest stays journaled.")]
    public static partial void ReplayInterrupted(ILogger logger, string store, Exception exception);

    [LoggerMessage(EventId = 70, EventName = "NearCacheFlushed", Level = LogLevel.Information, Message = "Near cache of store {Store} dropped every entry: its invalidation feed may have missed messages.")]
    public static partial void NearCacheFlushed(ILogger logger, string store);

    [LoggerMessage(EventId = 71, EventName = "InvalidationPublishFailed", Level = LogLevel.Warning, Message = "Near cache of store {Store} could not publish an invalidation; other nodes may serve this session from memory until their entries age out.")]
    public static partial void InvalidationPublishFailed(ILogger logger, string store, Exception exception);

    // 40-59: sticky sessions (20-39 are reserved).
    [LoggerMessage(EventId = 40, EventName = "StickySessionLost", Level = LogLevel.Warning, Message = "A sticky session owned by another node could not be recovered ({Reason}); the user starts a new session.")]
    public static partial void StickySessionLost(ILogger logger, string reason);

    [LoggerMessage(EventId = 41, EventName = "StickySessionRehydrated", Level = LogLevel.Information, Message = "Took over a sticky session from the backup store ({Cause}).")]
    public static partial void StickySessionRehydrated(ILogger logger, string cause);

    [LoggerMessage(EventId = 42, EventName = "StickyBackupWriteDropped", Level = LogLevel.Debug, Message = "A write-behind replication was not made ({Reason}); the session's next change or the drain retries it.")]
    public static partial void StickyBackupWriteDropped(ILogger logger, string reason);

    [LoggerMessage(EventId = 43, EventName = "StickyBackupWriteFailed", Level = LogLevel.Warning, Message = "A write-behind replication to the backup store failed; the session's next change or the drain retries it.")]
    public static partial void StickyBackupWriteFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 44, EventName = "StickyDrained", Level = LogLevel.Information, Message = "Drained node {NodeId}: flushed {Flushed} of {Sessions} live sessions to the backup store in {ElapsedMs} ms ({Failed} failed, {Remaining} not reached before the deadline).")]
    public static partial void StickyDrained(ILogger logger, string nodeId, int flushed, int sessions, long elapsedMs, int failed, int remaining);

    [LoggerMessage(EventId = 45, EventName = "StickyDrainWithoutBackup", Level = LogLevel.Warning, Message = "Node {NodeId} stops with {Sessions} live sessions and no backup store: they are lost.")]
    public static partial void StickyDrainWithoutBackup(ILogger logger, string nodeId, int sessions);

    [LoggerMessage(EventId = 46, EventName = "StickyTicketRejected", Level = LogLevel.Debug, Message = "A sticky ticket was rejected and loads as no session: {Reason}.")]
    public static partial void StickyTicketRejected(ILogger logger, string reason);

    [LoggerMessage(EventId = 47, EventName = "StickyRevocationPublishFailed", Level = LogLevel.Warning, Message = "Sticky store {Store} could not publish a revocation; the node that owns the session drops it at its next write to the backup store.")]
    public static partial void StickyRevocationPublishFailed(ILogger logger, string store, Exception exception);

    // Sessions per user on the sticky and tiered stores (issue 18): 320-324.
    [LoggerMessage(EventId = 320, EventName = "StickyUserSessionSignedOutByLimit", Level = LogLevel.Information, Message = "Sticky node {NodeId}: a sign-in made the backup store sign another session of the user out (MaxSessionsPerUser); every node is told to drop its copy.")]
    public static partial void StickyUserSessionSignedOutByLimit(ILogger logger, string nodeId);

    // Sessions per user through the circuit breaker (issue 18): 325-329.
    [LoggerMessage(EventId = 325, EventName = "OutageWritesOfEndedSessionDropped", Level = LogLevel.Information, Message = "Store {Store}: a session the primary ended (revoked, signed out, or ended by public id) had outage writes waiting for replay in {Routes} journaled sessions; they were dropped, so the replay cannot bring it back.")]
    public static partial void OutageWritesOfEndedSessionDropped(ILogger logger, string store, int routes);

    // Session lifecycle events (issue 16): 80-89.
    [LoggerMessage(EventId = 80, EventName = "SessionEventHandlerFailed", Level = LogLevel.Error, Message = "Session event handler {Handler} threw on a {Kind} event from store {Store}; the event goes on to the other handlers.")]
    public static partial void SessionEventHandlerFailed(ILogger logger, string handler, StateKit.Events.SessionEventKinds kind, string store, Exception exception);

    [LoggerMessage(EventId = 81, EventName = "SessionEventSweepFailed", Level = LogLevel.Error, Message = "A store's sweep for expired sessions threw; the next sweep tries again.")]
    public static partial void SessionEventSweepFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 82, EventName = "SessionEventsAbandoned", Level = LogLevel.Warning, Message = "The host stopped before the session event handlers caught up: {Pending} events were not delivered.")]
    public static partial void SessionEventsAbandoned(ILogger logger, int pending);
}
