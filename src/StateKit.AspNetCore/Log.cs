using System;
using Microsoft.Extensions.Logging;

namespace StateKit.AspNetCore;

/// <summary>The ASP.NET Core package's log events. Ids and names are a shipped contract: never renumber, only add.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 300, EventName = "CommitFailed", Level = LogLevel.Error, Message = "The session of store '{Store}' could not be saved; the response was replaced by status {StatusCode}.")]
    public static partial void CommitFailed(ILogger logger, string store, int statusCode, Exception exception);

    [LoggerMessage(EventId = 301, EventName = "TicketNotSent", Level = LogLevel.Error, Message = "The session of store '{Store}' changed its ticket after the response had started, so the client did not receive it. Touch the session before writing a streamed response.")]
    public static partial void TicketNotSent(ILogger logger, string store);

    [LoggerMessage(EventId = 302, EventName = "InboundTicketTooLong", Level = LogLevel.Debug, Message = "A ticket of {Length} characters for store '{Store}' is over MaxTicketLength and was ignored.")]
    public static partial void InboundTicketTooLong(ILogger logger, string store, int length);

    [LoggerMessage(EventId = 303, EventName = "SynchronousSessionLoad", Level = LogLevel.Warning, Message = "HttpContext.Session was read before it was loaded, so it loaded synchronously, blocking a thread. Call 'await HttpContext.Session.LoadAsync()' first.")]
    public static partial void SynchronousSessionLoad(ILogger logger);

    [LoggerMessage(EventId = 304, EventName = "LoadFailed", Level = LogLevel.Error, Message = "A session store was unavailable while the handler loaded a session; nothing was saved and the response was replaced by status {StatusCode}.")]
    public static partial void LoadFailed(ILogger logger, int statusCode, Exception exception);

    [LoggerMessage(EventId = 305, EventName = "TicketUserChanged", Level = LogLevel.Warning, Message = "A sign-in over session {SessionId} of store '{Store}' named another user; the session was ended rather than handed over, and the user must sign in again.")]
    public static partial void TicketUserChanged(ILogger logger, string store, string sessionId);

    [LoggerMessage(EventId = 306, EventName = "TicketLoadFailed", Level = LogLevel.Error, Message = "Store '{Store}' was unavailable while cookie authentication read a ticket; the request was answered with status {StatusCode}, not signed out.")]
    public static partial void TicketLoadFailed(ILogger logger, string store, int statusCode, Exception exception);

    [LoggerMessage(EventId = 307, EventName = "SyncContention", Level = LogLevel.Warning, Message = "A sync batch lost to concurrent commits of its session {Attempts} times and was answered 409 with nothing applied; the client sends it again.")]
    public static partial void SyncContention(ILogger logger, int attempts);

    [LoggerMessage(EventId = 308, EventName = "SyncMergeFailed", Level = LogLevel.Warning, Message = "The merge policy of synced key '{Key}' threw; the operation was rejected and the rest of the batch applied.")]
    public static partial void SyncMergeFailed(ILogger logger, string key, Exception exception);

    [LoggerMessage(EventId = 340, EventName = "SignInRefusedBySessionLimit", Level = LogLevel.Information, Message = "Store '{Store}' refused a cookie sign-in: its user already has as many sessions as MaxSessionsPerUser allows (RefuseNewSession); SignInAsync threw SessionLimitReachedException.")]
    public static partial void SignInRefusedBySessionLimit(ILogger logger, string store);

    [LoggerMessage(EventId = 341, EventName = "BindRefusedBySessionLimit", Level = LogLevel.Warning, Message = "Store '{Store}' refused to bind the request's session to its user: the user already has as many sessions as MaxSessionsPerUser allows (RefuseNewSession). The session stays as it was (anonymous), and the response goes out. To tell the user, commit at sign-in yourself and check for SessionCommitOutcome.SessionLimitReached.")]
    public static partial void BindRefusedBySessionLimit(ILogger logger, string store);
}
