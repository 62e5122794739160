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
}
