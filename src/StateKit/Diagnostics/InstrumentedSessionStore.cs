using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using StateKit.Events;

namespace StateKit.Diagnostics;

/// <summary>
/// Records metrics and traces around any store, so that every strategy is measured the same way without each store
/// carrying its own instrumentation. The DI registration wraps every store in one.
/// </summary>
/// <remarks>
/// When the application subscribes to session events (<paramref name="events"/> is not null), it also raises the events
/// every store's commits and revocations imply (created, rotated, revoked), once per registered store: decorators stacked
/// over it (a breaker, a near cache) raise only their own kinds.
/// </remarks>
internal sealed class InstrumentedSessionStore(ISessionStore inner, string storeName, SessionEventSink? events = null) : ISessionStore, ISessionLister
{
    /// <summary>The kinds every registered store raises from its commit results and revocations.</summary>
    internal const SessionEventKinds CommitEvents = SessionEventKinds.Created | SessionEventKinds.Rotated | SessionEventKinds.Revoked;

    private readonly KeyValuePair<string, object?> _storeTag = new(StateKitTelemetry.StoreTag, storeName);

    private readonly SessionStoreCapabilities _capabilities = inner.Capabilities with
    {
        Events = inner.Capabilities.Events | CommitEvents,
        ListsUserSessions = inner.Capabilities.ListsUserSessions && inner is ISessionLister,
    };

    public ISessionStore Inner => inner;

    public SessionStoreCapabilities Capabilities => _capabilities;

    /// <summary>The inner store's listing; it raises its own events for what it revokes.</summary>
    public ValueTask<UserSessionPage> ListUserSessionsAsync(string userId, string? continuationToken = null, int pageSize = UserSessionPage.DefaultPageSize, CancellationToken cancellationToken = default)
        => Lister.ListUserSessionsAsync(userId, continuationToken, pageSize, cancellationToken);

    /// <summary>The inner store's revocation by public id; it raises its own events for what it revokes.</summary>
    public ValueTask<bool> RevokeUserSessionAsync(string userId, string publicId, CancellationToken cancellationToken = default)
        => Lister.RevokeUserSessionAsync(userId, publicId, cancellationToken);

    private ISessionLister Lister => _capabilities.ListsUserSessions
        ? (ISessionLister)inner
        : throw new NotSupportedException($"The store '{storeName}' cannot list a user's sessions (Capabilities.ListsUserSessions is false); the in-memory and Redis stores can.");

    public async ValueTask<SessionSnapshot?> LoadAsync(string ticket, CancellationToken cancellationToken = default)
    {
        using var activity = StateKitTelemetry.ActivitySource.StartActivity("statekit.load");
        var started = Stopwatch.GetTimestamp();
        try
        {
            var session = await inner.LoadAsync(ticket, cancellationToken).ConfigureAwait(false);
            var result = session is null ? "miss" : "hit";
            activity?.SetTag(StateKitTelemetry.ResultTag, result);
            TagSession(activity, session?.Id);
            StateKitTelemetry.Loads.Add(1, _storeTag, new(StateKitTelemetry.ResultTag, result));
            RecordDuration("load", started, null);
            return session;
        }
        catch (Exception e)
        {
            Fail(activity, "load", started, e);
            throw;
        }
    }

    public async ValueTask<SessionCommitResult> CommitAsync(SessionCommit commit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(commit);
        using var activity = StateKitTelemetry.ActivitySource.StartActivity("statekit.commit");
        var started = Stopwatch.GetTimestamp();
        try
        {
            var result = await inner.CommitAsync(commit, cancellationToken).ConfigureAwait(false);
            var outcome = result.Outcome switch
            {
                SessionCommitOutcome.NoChange => "no_change",
                SessionCommitOutcome.Committed => "committed",
                SessionCommitOutcome.Deleted => "deleted",
                SessionCommitOutcome.Conflict => "conflict",
                SessionCommitOutcome.SessionLimitReached => "session_limit_reached",
                _ => "not_found",
            };
            activity?.SetTag(StateKitTelemetry.ResultTag, outcome);
            TagSession(activity, result.SessionId ?? commit.Base?.Id);
            StateKitTelemetry.Commits.Add(1, _storeTag, new(StateKitTelemetry.ResultTag, outcome));
            if (result.Outcome == SessionCommitOutcome.Conflict)
            {
                StateKitTelemetry.Conflicts.Add(1, _storeTag);
            }
            else if (result.Outcome == SessionCommitOutcome.Committed)
            {
                long bytes = 0;
                foreach (var value in commit.Upserts.Values)
                {
                    bytes += value.Length;
                }

                StateKitTelemetry.CommitBytes.Record(bytes, _storeTag);
            }

            RecordDuration("commit", started, null);
            if (events is not null)
            {
                RaiseCommitEvents(events, commit, result);
            }

            return result;
        }
        catch (Exception e)
        {
            Fail(activity, "commit", started, e);
            throw;
        }
    }

    public ValueTask<bool> RevokeAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        return events is null ? inner.RevokeAsync(sessionId, cancellationToken) : RevokeAndRaiseAsync(events, sessionId, cancellationToken);

        async ValueTask<bool> RevokeAndRaiseAsync(SessionEventSink sink, string id, CancellationToken token)
        {
            var revoked = await inner.RevokeAsync(id, token).ConfigureAwait(false);
            if (revoked)
            {
                sink.Raise(SessionEventKinds.Revoked, SessionEventReason.RevokedById, id);
            }

            return revoked;
        }
    }

    public ValueTask<int> RevokeUserAsync(string userId, CancellationToken cancellationToken = default)
        => inner.RevokeUserAsync(userId, cancellationToken);

    // The id of the session before the commit: the loaded one's, or a server-side ticket that is the id itself (a blind
    // write). Sealed and signed tickets are never hashed into an id: they are not ids.
    private static string? IdBefore(SessionCommit commit) => commit.Base?.Id ?? (SessionIds.IsWellFormed(commit.Ticket) ? commit.Ticket : null);

    private static void RaiseCommitEvents(SessionEventSink sink, SessionCommit commit, SessionCommitResult result)
    {
        if (result.Outcome == SessionCommitOutcome.Committed && result.SessionId is { } id)
        {
            var userId = commit.BindUserId ?? commit.Base?.UserId;
            if (commit.Ticket is null)
            {
                sink.Raise(SessionEventKinds.Created, SessionEventReason.NewSession, id, userId);
            }
            else if (commit.RotateId && IdBefore(commit) is var before && !string.Equals(before, id, StringComparison.Ordinal))
            {
                sink.Raise(SessionEventKinds.Rotated, SessionEventReason.IdRotation, id, userId, before);
            }
        }
        else if (result.Outcome == SessionCommitOutcome.Deleted && IdBefore(commit) is { } deleted)
        {
            sink.Raise(SessionEventKinds.Revoked, commit.Revoke ? SessionEventReason.SignOut : SessionEventReason.Emptied, deleted, commit.Base?.UserId);
        }
    }

    // Traces of one session correlate with the app's logs of StateSession.Id; hashed only when the activity is recorded.
    private static void TagSession(Activity? activity, string? sessionId)
    {
        if (activity is { IsAllDataRequested: true } && sessionId is not null)
        {
            activity.SetTag(StateKitTelemetry.SessionIdTag, SessionIds.ToPublicId(sessionId));
        }
    }

    private void Fail(Activity? activity, string operation, long started, Exception e)
    {
        activity?.SetStatus(ActivityStatusCode.Error, e.GetType().Name);
        RecordDuration(operation, started, e.GetType().FullName);
    }

    private void RecordDuration(string operation, long started, string? errorType)
    {
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        if (errorType is null)
        {
            StateKitTelemetry.Duration.Record(seconds, _storeTag, new(StateKitTelemetry.OperationTag, operation));
        }
        else
        {
            StateKitTelemetry.Duration.Record(seconds, _storeTag, new(StateKitTelemetry.OperationTag, operation), new(StateKitTelemetry.ErrorTypeTag, errorType));
        }
    }
}
