using Microsoft.Extensions.Logging;

namespace StateKit.Jwt;

/// <summary>
/// StateKit.Jwt's log events, ids 200 and up. Ids and names are a shipped contract: never renumber, only add.
/// Neither tokens nor session ids nor keys reach a log.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 200, EventName = "TokenRejected", Level = LogLevel.Debug, Message = "A JWT was rejected and loads as no session: {Reason}.")]
    public static partial void TokenRejected(ILogger logger, string reason);

    [LoggerMessage(EventId = 201, EventName = "TokenTooLarge", Level = LogLevel.Warning, Message = "A commit was refused: the session would be {Size}, over the limit of {Limit} ({LimitName}).")]
    public static partial void TokenTooLarge(ILogger logger, long size, long limit, string limitName);
}
