using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace StateKit;

/// <summary>
/// The one load, commit and revoke flow of the stores that keep the whole session in the ticket the client holds (the
/// sealed store and the JWT store): open the ticket, ask the deny list, apply the delta, check the payload, issue the next
/// ticket, deny the ids that must die. Each store supplies only how its tickets are issued and opened
/// (<see cref="IClientHeldTickets"/>), in the shape of YARP's base for its two encrypted affinity policies. Linked as source
/// into StateKit.Jwt, so that the core opens no internals to other packages and users see two stores, not a framework.
/// </summary>
internal sealed class ClientHeldPipeline
{
    private readonly IClientHeldTickets _tickets;
    private readonly SessionStoreOptions _options;
    private readonly ISessionDenyList? _denyList;
    private readonly TimeProvider _time;
    private readonly TimeSpan _clockSkew;
    private readonly TimeSpan _reissueMargin;

    /// <summary>Initializes a new instance of the <see cref="ClientHeldPipeline"/> class.</summary>
    /// <param name="tickets">How the store issues and opens tickets.</param>
    /// <param name="options">The store's deadlines and payload limit.</param>
    /// <param name="denyList">The store's deny list, or <see langword="null"/> for none (no revocation).</param>
    /// <param name="time">The store's clock.</param>
    /// <param name="clockSkew">
    /// How far apart node clocks may be while the store's validation still accepts a ticket: a node behind by that much
    /// accepts a ticket that long after its expiry, so every deny entry outlives the tickets it denies by as much.
    /// </param>
    /// <param name="reissueMargin">A ticket this close to its expiry is as good as expired: a commit finds no session.</param>
    public ClientHeldPipeline(IClientHeldTickets tickets, SessionStoreOptions options, ISessionDenyList? denyList, TimeProvider time, TimeSpan clockSkew, TimeSpan reissueMargin)
    {
        _tickets = tickets;
        _options = options;
        _denyList = denyList;
        _time = time;
        _clockSkew = clockSkew;
        _reissueMargin = reissueMargin;
    }

    /// <summary>Gets the revocation the store can offer: by id with a deny list, none without.</summary>
    public RevocationSupport Revocation => _denyList is null ? RevocationSupport.None : RevocationSupport.ById;

    /// <summary>Opens a ticket and asks the deny list; synchronous when the ticket opens without I/O and there is no list.</summary>
    /// <param name="ticket">The ticket the client presented.</param>
    /// <param name="cancellationToken">A token that cancels the deny-list check.</param>
    /// <returns>The session, or <see langword="null"/> for any bad, expired or denied ticket.</returns>
    public ValueTask<SessionSnapshot?> LoadAsync(string? ticket, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var opening = _tickets.OpenAsync(ticket, _time.GetUtcNow());
        if (!opening.IsCompletedSuccessfully)
        {
            return CheckDenyListAsync(opening, cancellationToken);
        }

        var session = opening.Result;
        return session is null || _denyList is null ? ValueTask.FromResult(session) : CheckDenyListAsync(session, cancellationToken);
    }

    /// <summary>Applies a commit to the session the presented ticket holds, and issues the next ticket.</summary>
    /// <param name="commit">The commit.</param>
    /// <param name="cancellationToken">A token that cancels the deny-list calls.</param>
    /// <returns>The outcome; its ticket is never <see langword="null"/> after <see cref="SessionCommitOutcome.Committed"/>.</returns>
    public async ValueTask<SessionCommitResult> CommitAsync(SessionCommit commit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(commit);
        cancellationToken.ThrowIfCancellationRequested();
        if (!commit.NeedsWrite(StateLocation.Client))
        {
            return SessionCommitResult.NoChange;
        }

        var now = _time.GetUtcNow();
        if (commit.Ticket is null)
        {
            var values = _tickets.Apply(null, commit);
            if (values.Count == 0)
            {
                return SessionCommitResult.NoChange;
            }

            CheckPayload(values);
            var ticket = _tickets.IssueNew(values, commit, now, out var created);
            return SessionCommitResult.Committed(created, ticket);
        }

        var current = await _tickets.OpenAsync(commit.Ticket, now).ConfigureAwait(false);
        if (current is not null && _denyList is not null && await _denyList.IsDeniedAsync(current.Id, cancellationToken).ConfigureAwait(false))
        {
            _tickets.LogRejected("revoked");
            current = null;
        }

        // A ticket within the margin of its end cannot be re-issued with a later deadline: it is as good as expired.
        if (current is null || current.ExpiresAt - now < _reissueMargin)
        {
            return SessionCommitResult.NotFound;
        }

        if (commit.Revoke)
        {
            await DenyAsync(current, now, cancellationToken).ConfigureAwait(false);
            return SessionCommitResult.Deleted;
        }

        // The "stored version" of a client-held session is the one in the presented ticket: a base from another ticket is stale.
        if (commit.Mode == SessionCommitMode.RequireBaseVersion && commit.Base is not null
            && (commit.Base.Version != current.Version || commit.Base.Id != current.Id))
        {
            return SessionCommitResult.Conflict;
        }

        var merged = _tickets.Apply(current.Values, commit);
        if (merged.Count == 0)
        {
            await DenyAsync(current, now, cancellationToken).ConfigureAwait(false);
            return SessionCommitResult.Deleted;
        }

        CheckPayload(merged);
        var next = SessionLifecycle.NextSession(current, merged, commit, now, _tickets.NewId);

        // Issue before denying the old id: a commit that fails on size must not sign the user out.
        var issued = _tickets.Issue(next, now);
        if (commit.RotateId)
        {
            await DenyAsync(current, now, cancellationToken).ConfigureAwait(false);
        }

        return SessionCommitResult.Committed(next, issued);
    }

    /// <summary>Denies a session id until every ticket of it has expired, on every clock the validation tolerates.</summary>
    /// <param name="sessionId">The id.</param>
    /// <param name="cancellationToken">A token that cancels the deny-list call.</param>
    /// <returns><see langword="true"/> when the id was not already denied. The store cannot tell whether a ticket of that id is still alive.</returns>
    /// <exception cref="NotSupportedException">No deny list is configured.</exception>
    public async ValueTask<bool> RevokeAsync(string sessionId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sessionId);
        cancellationToken.ThrowIfCancellationRequested();
        if (_denyList is null)
        {
            throw new NotSupportedException(
                $"{_tickets.StoreName} cannot revoke a {_tickets.TicketNoun} the client holds unless a deny list is configured. Set {_tickets.StoreName}Options.DenyList, "
                + "e.g. o.DenyList = new DistributedCacheSessionDenyList(cache) over a cache every node shares.");
        }

        if (sessionId.Length == 0)
        {
            return false;
        }

        // Any ticket of this id was issued before now, so none outlives now + AbsoluteLifetime, plus the skew a slower node allows.
        var until = _time.GetUtcNow() + _options.AbsoluteLifetime + _clockSkew;
        return await _denyList.DenyAsync(sessionId, until, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The refusal to revoke by user, for the store to throw: nothing server-side knows which tickets a user holds.</summary>
    /// <returns>The exception, saying what to do instead.</returns>
    public NotSupportedException RevokeUserNotSupported()
        => new(
            $"{_tickets.StoreName} cannot revoke by user: no server-side index knows which {_tickets.TicketNoun}s a user holds. Revoke each session by id "
            + "(with a DenyList configured), or keep sessions that need \"sign out everywhere\" in a store whose Capabilities.Revocation includes ByUser.");

    /// <summary>When a deny entry for <paramref name="current"/>'s id, written at <paramref name="now"/>, may go.</summary>
    /// <param name="current">The session whose id is denied.</param>
    /// <param name="now">The store's clock.</param>
    /// <returns>The moment the last ticket of that id stops being accepted by any node.</returns>
    internal DateTimeOffset DenyUntil(SessionSnapshot current, DateTimeOffset now)
    {
        // Other tickets of this id may have been issued up to now, so the entry lives until the last of them could expire,
        // and then as long again as a node whose clock is behind by the tolerated skew still accepts one.
        var idle = current.IdleTimeout > _options.IdleTimeout ? current.IdleTimeout : _options.IdleTimeout;
        var expires = now + idle < current.AbsoluteExpiresAt ? now + idle : current.AbsoluteExpiresAt;
        return expires + _clockSkew;
    }

    private async ValueTask DenyAsync(SessionSnapshot current, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (_denyList is null)
        {
            return;
        }

        var until = DenyUntil(current, now);
        if (until > now)
        {
            await _denyList.DenyAsync(current.Id, until, cancellationToken).ConfigureAwait(false);
        }
    }

    private void CheckPayload(Dictionary<string, ReadOnlyMemory<byte>> values)
    {
        try
        {
            SessionPayloadTooLargeException.ThrowIfOver(SessionPayload.Size(values), _options.MaxPayloadBytes);
        }
        catch (SessionPayloadTooLargeException e)
        {
            _tickets.LogTooLarge(e);
            throw;
        }
    }

    private async ValueTask<SessionSnapshot?> CheckDenyListAsync(ValueTask<SessionSnapshot?> opening, CancellationToken cancellationToken)
    {
        var session = await opening.ConfigureAwait(false);
        return session is null || _denyList is null ? session : await CheckDenyListAsync(session, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask<SessionSnapshot?> CheckDenyListAsync(SessionSnapshot session, CancellationToken cancellationToken)
    {
        if (await _denyList!.IsDeniedAsync(session.Id, cancellationToken).ConfigureAwait(false))
        {
            _tickets.LogRejected("revoked");
            return null;
        }

        return session;
    }
}
