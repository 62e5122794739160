using System;

namespace StateKit.Events;

/// <summary>
/// An event as a store raised it, waiting in the queue: it still holds the session's id in its store, which the reader
/// hashes into the public id, so that the hash is paid off the request path. It never leaves the dispatcher.
/// </summary>
internal readonly record struct PendingSessionEvent(
    SessionEventSink Sink,
    SessionEventKinds Kind,
    SessionEventReason Reason,
    string SessionId,
    string? PreviousSessionId,
    string? UserId,
    DateTimeOffset Time)
{
    public SessionEvent ToEvent() => new(
        Kind,
        Reason,
        SessionIds.ToPublicId(SessionId),
        PreviousSessionId is null ? null : SessionIds.ToPublicId(PreviousSessionId),
        Sink.StoreName,
        UserId,
        Time);
}
