using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.Linq;
using System.Threading;

namespace StateKit.Resilience;

/// <summary>
/// Knows, for each client ticket touched during an outage, where its session lives now: in the fallback (journaled or
/// not), or forwarded to the primary session it was replayed to. Every other ticket goes to the primary.
/// </summary>
internal sealed class OutageRouter : IDisposable
{
    private readonly Dictionary<string, OutageRoute> _routes = new(StringComparer.Ordinal);

    // Tickets the fallback never issued whose sessions were revoked during the outage: kept apart from the journal, so that
    // revoking made-up strings takes no journal slot, and bounded, oldest forgotten first.
    private readonly Queue<string> _revokedOrder = new();
    private readonly HashSet<string> _revoked = new(StringComparer.Ordinal);
    // Public ids of sessions the primary ended by public id while this store was up, so that a request that loaded one
    // before and commits during an outage cannot seed the fallback with it. Bounded like revocations, oldest forgotten first.
    private readonly Queue<string> _endedOrder = new();
    private readonly HashSet<string> _ended = new(StringComparer.Ordinal);
    private readonly Lock _routesLock = new();
    private readonly int _maxForwards;
    private readonly int _maxRevocations;
    private int _routeCount;
    private int _revokedCount;
    private long _order;

    /// <param name="journalCapacity">The journal's capacity; forwards are bounded at twice as many routes, revocations at as many.</param>
    public OutageRouter(int journalCapacity)
    {
        _maxForwards = 2 * journalCapacity;
        _maxRevocations = journalCapacity;
    }

    /// <summary>
    /// Gets the gate that serializes changes to routes (outage writes, replay, journal overflow), so that a replay
    /// never interleaves with a write to the same session.
    /// </summary>
    public SemaphoreSlim WriteGate { get; } = new(1, 1);

    /// <summary>Gets a value indicating whether any ticket is routed; read without the lock on every call.</summary>
    public bool IsEmpty => Volatile.Read(ref _routeCount) == 0;

    /// <summary>Routes a load: follows a forward to the primary ticket, or gives the journaled route the fallback must serve.</summary>
    /// <param name="ticket">The client's ticket; replaced by the primary's when the session was replayed there.</param>
    /// <param name="journaled">The route whose outage writes are not replayed yet: the fallback holds the newest copy.</param>
    /// <returns><see langword="true"/> when the fallback must serve the load.</returns>
    public bool RouteLoad(ref string ticket, [NotNullWhen(true)] out OutageRoute? journaled)
    {
        journaled = null;
        if (IsEmpty || !TryGet(ticket, out var route))
        {
            return false;
        }

        if (route.ForwardTo is { } forward)
        {
            ticket = forward;
            return false;
        }

        if (route.Journaled)
        {
            journaled = route;
            return true;
        }

        return false;
    }

    /// <summary>Routes a commit: journaled sessions go to the fallback; a replayed session's commit is retargeted to the primary ticket.</summary>
    /// <param name="commit">The commit; retargeted when the session was replayed to the primary.</param>
    /// <param name="forwardedTo">The primary ticket the commit was retargeted to, to hand the client.</param>
    /// <returns><see langword="true"/> when the fallback must take the commit.</returns>
    public bool RouteCommit(ref SessionCommit commit, out string? forwardedTo)
    {
        forwardedTo = null;
        if (commit.Ticket is null || IsEmpty || !TryGet(commit.Ticket, out var route))
        {
            return false;
        }

        if (route.Journaled)
        {
            return true;
        }

        if (route.ForwardTo is not null)
        {
            forwardedTo = route.ForwardTo;
            commit = commit.Retarget(forwardedTo, commit.RotateId);
        }

        return false;
    }

    /// <summary>Gets the route of a ticket the fallback serves, unless it was forwarded to the primary.</summary>
    public bool TryGetUnforwarded(string ticket, [NotNullWhen(true)] out OutageRoute? route)
    {
        route = null;
        return !IsEmpty && TryGet(ticket, out route) && route.ForwardTo is null;
    }

    public bool TryGet(string ticket, [NotNullWhen(true)] out OutageRoute? route)
    {
        lock (_routesLock)
        {
            return _routes.TryGetValue(ticket, out route);
        }
    }

    /// <summary>Starts routing a ticket, in the order routes are created.</summary>
    public OutageRoute Add(string clientTicket, string? primaryTicket, long? baseVersion)
    {
        var route = new OutageRoute(clientTicket, primaryTicket, Interlocked.Increment(ref _order)) { BaseVersion = baseVersion };
        lock (_routesLock)
        {
            _routes[route.ClientTicket] = route;
            Volatile.Write(ref _routeCount, _routes.Count);

            // Forwards of replayed sessions are kept for a while so clients pick up their primary ticket; bound them.
            if (_routes.Count > _maxForwards)
            {
                var oldest = _routes.Values.Where(r => r.ForwardTo is not null).OrderBy(r => r.Order).FirstOrDefault();
                if (oldest is not null)
                {
                    _routes.Remove(oldest.ClientTicket);
                    Volatile.Write(ref _routeCount, _routes.Count);
                }
            }
        }

        return route;
    }

    public void Remove(OutageRoute route)
    {
        lock (_routesLock)
        {
            _routes.Remove(route.ClientTicket);
            Volatile.Write(ref _routeCount, _routes.Count);
        }
    }

    /// <summary>Remembers that the primary ended the session with this public id; forgets the oldest when full.</summary>
    public void RememberEnded(string publicId)
    {
        lock (_routesLock)
        {
            if (_ended.Add(publicId))
            {
                _endedOrder.Enqueue(publicId);
                if (_ended.Count > _maxRevocations)
                {
                    _ended.Remove(_endedOrder.Dequeue());
                }
            }
        }
    }

    /// <summary>Gets a value indicating whether the primary ended the session a ticket names by its public id (as far as remembered).</summary>
    public bool WasEnded(string ticket)
    {
        lock (_routesLock)
        {
            return _ended.Count != 0 && _ended.Contains(SessionIds.ToPublicId(ticket));
        }
    }

    /// <summary>Gets the routes whose claimed primary ticket is the session with this public id.</summary>
    public OutageRoute[] Claiming(string publicId)
    {
        if (IsEmpty)
        {
            return [];
        }

        lock (_routesLock)
        {
            return _routes.Values.Where(r => r.PrimaryTicket is { } claimed && SessionIds.ToPublicId(claimed) == publicId).ToArray();
        }
    }

    /// <summary>Gets a value indicating whether revocations wait for replay; read without the lock.</summary>
    public bool HasRevocations => Volatile.Read(ref _revokedCount) != 0;

    /// <summary>Remembers the revocation of a ticket the primary may know, to replay; forgets the oldest when full.</summary>
    /// <returns><see langword="true"/> when an older revocation was forgotten to make room.</returns>
    public bool AddRevocation(string ticket)
    {
        lock (_routesLock)
        {
            if (!_revoked.Add(ticket))
            {
                return false;
            }

            _revokedOrder.Enqueue(ticket);
            var dropped = false;
            if (_revoked.Count > _maxRevocations)
            {
                _revoked.Remove(_revokedOrder.Dequeue());
                dropped = true;
            }

            Volatile.Write(ref _revokedCount, _revoked.Count);
            return dropped;
        }
    }

    /// <summary>Gets a value indicating whether the ticket was revoked during the outage and the primary does not know yet.</summary>
    public bool IsRevoked(string ticket)
    {
        if (!HasRevocations)
        {
            return false;
        }

        lock (_routesLock)
        {
            return _revoked.Contains(ticket);
        }
    }

    /// <summary>Gets the oldest revocation waiting for replay, without removing it.</summary>
    public bool TryPeekRevocation([NotNullWhen(true)] out string? ticket)
    {
        lock (_routesLock)
        {
            return _revokedOrder.TryPeek(out ticket);
        }
    }

    /// <summary>Forgets a revocation the primary has applied.</summary>
    public void RemoveRevocation(string ticket)
    {
        lock (_routesLock)
        {
            if (_revokedOrder.TryPeek(out var oldest) && oldest == ticket)
            {
                _revokedOrder.Dequeue();
            }

            _revoked.Remove(ticket);
            Volatile.Write(ref _revokedCount, _revoked.Count);
        }
    }

    /// <summary>
    /// The circuit closed under <see cref="OutagePolicy.Fallback"/>: the outage's writes stay behind, and a session that
    /// claimed a primary ticket goes back to it. The claim was never verified: a made-up one names nothing in the primary either.
    /// </summary>
    public void ForwardClaimsAndForgetTheRest()
    {
        lock (_routesLock)
        {
            foreach (var route in _routes.Values.ToArray())
            {
                if (route.PrimaryTicket is { } claimed && !route.Deleted)
                {
                    route.ForwardTo ??= claimed;
                    route.FallbackTicket = null;
                }
                else if (route.ForwardTo is null)
                {
                    _routes.Remove(route.ClientTicket);
                }
            }

            Volatile.Write(ref _routeCount, _routes.Count);
        }
    }

    /// <summary>Gets the oldest route whose writes wait for replay, or <see langword="null"/>.</summary>
    public OutageRoute? OldestJournaled()
    {
        lock (_routesLock)
        {
            return _routes.Values.Where(r => r.Journaled).OrderBy(r => r.Order).FirstOrDefault();
        }
    }

    /// <summary>Gets every route whose writes wait for replay, oldest first.</summary>
    public OutageRoute[] Journaled()
    {
        lock (_routesLock)
        {
            return _routes.Values.Where(r => r.Journaled).OrderBy(r => r.Order).ToArray();
        }
    }

    public void Dispose() => WriteGate.Dispose();
}
