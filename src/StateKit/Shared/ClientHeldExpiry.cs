using System;
using StateKit.Events;

namespace StateKit;

/// <summary>
/// Reports the expiry a client-held store can see: a verified ticket that came back past its session's deadline. A
/// ticket nobody sends again expires unseen, which is why these stores' events happen on load only. Each session is
/// reported once per node while it is remembered, so a client that keeps sending its dead cookie raises no flood. Linked
/// as source into both client-held stores (sealed and JWT).
/// </summary>
internal sealed class ClientHeldExpiry
{
    // As many sessions as the verified-ticket caches remember: a dead cookie sent again within a few minutes is not news.
    private const int Memory = 10_000;

    private static readonly object Reported = new();

    private readonly TicketCache<object> _reported = new(Memory);

    /// <summary>Gets or sets where expiry is reported; <see langword="null"/> when nobody subscribed.</summary>
    public SessionEventSink? Events { get; set; }

    /// <summary>Reports <paramref name="session"/>, opened from a verified ticket whose deadline passed at <paramref name="now"/>.</summary>
    public void Report(SessionSnapshot session, DateTimeOffset now)
    {
        if (Events is not { } events || _reported.TryGet(session.Id, out _))
        {
            return;
        }

        _reported.Add(session.Id, Reported);
        events.Raise(
            SessionEventKinds.Expired,
            now >= session.AbsoluteExpiresAt ? SessionEventReason.AbsoluteLifetime : SessionEventReason.IdleTimeout,
            session.Id,
            session.UserId);
    }
}
