using System;
using System.Collections.Generic;
using System.Numerics;
using StateKit.Diagnostics;

namespace StateKit.Events;

/// <summary>
/// For store authors: where one store raises its lifecycle events (see <see cref="ISessionEventSource"/>). Raising never
/// blocks and never throws for a full queue: the event is dropped and counted instead.
/// </summary>
public sealed class SessionEventSink
{
    private readonly SessionEventDispatcher _dispatcher;
    private readonly TimeProvider _time;

    internal SessionEventSink(SessionEventDispatcher dispatcher, string storeName, TimeProvider time)
    {
        _dispatcher = dispatcher;
        _time = time;
        StoreName = storeName;
        StoreTag = new(StateKitTelemetry.StoreTag, storeName);
    }

    /// <summary>Gets the name of the store the sink raises events for.</summary>
    public string StoreName { get; }

    internal KeyValuePair<string, object?> StoreTag { get; }

    /// <summary>Raises an event, stamped with the application's <see cref="TimeProvider"/> time.</summary>
    /// <param name="kind">What happened: exactly one flag.</param>
    /// <param name="reason">Why.</param>
    /// <param name="sessionId">
    /// The session's id in the store (<see cref="SessionSnapshot.Id"/>), even when it is the bearer id: the sink turns it
    /// into the public id (<see cref="SessionIds.ToPublicId"/>) before any handler sees the event.
    /// </param>
    /// <param name="userId">The user the session is bound to, or <see langword="null"/>.</param>
    /// <param name="previousSessionId">For <see cref="SessionEventKinds.Rotated"/>, the id the session had before, or <see langword="null"/>.</param>
    /// <exception cref="ArgumentException"><paramref name="kind"/> is not exactly one flag.</exception>
    public void Raise(SessionEventKinds kind, SessionEventReason reason, string sessionId, string? userId = null, string? previousSessionId = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(sessionId);
        if (!BitOperations.IsPow2((uint)kind))
        {
            throw new ArgumentException($"An event has exactly one kind; got {kind}.", nameof(kind));
        }

        _dispatcher.Enqueue(new PendingSessionEvent(this, kind, reason, sessionId, previousSessionId, userId, _time.GetUtcNow()));
    }

    /// <summary>Asks the dispatcher to call <paramref name="sweep"/> every <see cref="SessionEventOptions.ExpirySweepInterval"/>.</summary>
    internal void OnSweep(Action sweep) => _dispatcher.AddSweep(sweep);

    /// <summary>The sink for the store registered under <paramref name="registrationName"/>, or <see langword="null"/> when nobody subscribed.</summary>
    internal static SessionEventSink? Find(IServiceProvider services, string registrationName)
        => (services.GetService(typeof(SessionEventDispatcher)) as SessionEventDispatcher)?.FindSink(registrationName);
}
