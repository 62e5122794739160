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
}
