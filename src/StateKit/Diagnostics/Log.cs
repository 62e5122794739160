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
}
