using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Logging;
using StateKit.DependencyInjection;
using StateKit.Tiering;

namespace StateKit.AspNetCore;

/// <summary>
/// One request's sessions, one per store name, created on first access. Also serves <see cref="ISessionFeature"/>,
/// so <c>HttpContext.Session</c> runs on the default store.
/// </summary>
/// <remarks>
/// The first access buffers the response body, so that the commit can happen after the handler but before anything
/// reaches the client: a new ticket can still be set, and a failed commit replaces the response instead of being lost
/// behind a 200 already on the wire. A request that never touches its session is not buffered and costs no store call.
/// </remarks>
internal sealed class StateKitFeature(HttpContext context, StateKitHttpRuntime runtime) : ISessionFeature, IDisposable
{
    private Dictionary<string, Tracked>? _sessions;
    private ISession? _session;
    private IHttpResponseBodyFeature? _originalBody;
    private FileBufferingWriteStream? _buffer;

    ISession ISessionFeature.Session
    {
        get => _session ??= new StateKitSession(GetSession(SessionStores.DefaultName), runtime.Logger);
        set => _session = value;
    }

    public StateSession GetSession(string storeName)
    {
        ArgumentNullException.ThrowIfNull(storeName);
        _sessions ??= new(StringComparer.Ordinal);
        if (_sessions.TryGetValue(storeName, out var tracked))
        {
            return tracked.Session;
        }

        var store = runtime.Stores.GetStore(storeName);
        string? ticket;
        Dictionary<string, string>? parts = null;
        if (store is ICompositeTicketStore composite)
        {
            // A tiered store's ticket travels as one cookie (or header) per tier, so a commit rewrites only the tiers it changed.
            parts = new(StringComparer.Ordinal);
            foreach (var part in composite.PartNames)
            {
                if (ReadTicket(PartChannelName(storeName, part)) is { } partTicket)
                {
                    parts[part] = partTicket;
                }
            }

            ticket = CompositeTicket.Join(parts, composite.PartNames);
        }
        else
        {
            ticket = ReadTicket(storeName);
        }

        BufferResponse();
        tracked = new Tracked(new StateSession(store, ticket, runtime.Json), ticket, parts);
        _sessions.Add(storeName, tracked);
        return tracked.Session;
    }

    /// <summary>Commits every touched session, sends the tickets that changed, then releases the buffered response.</summary>
    public async Task CompleteAsync()
    {
        if (_sessions is null)
        {
            return;
        }

        string current = SessionStores.DefaultName;
        try
        {
            foreach (var (name, tracked) in _sessions)
            {
                current = name;
                RefreshIfClientHeld(tracked.Session);

                // Costs nothing when the session has nothing to write.
                tracked.Result = await tracked.Session.CommitAsync(context.RequestAborted).ConfigureAwait(false);
            }

            foreach (var (name, tracked) in _sessions)
            {
                current = name;
                SendTicket(name, tracked);
            }
        }
        catch (StateKitException e)
        {
            Log.CommitFailed(runtime.Logger, current, runtime.Options.CommitFailureStatusCode, e);
            await FailAsync(e, loading: false).ConfigureAwait(false);
            return;
        }

        await ReleaseAsync().ConfigureAwait(false);
    }

    public void Dispose() => Abandon();

    /// <summary>The handler threw: give the response back to the error handlers, commit nothing.</summary>
    public void Abandon()
    {
        if (_originalBody is not null)
        {
            context.Features.Set(_originalBody);
            _originalBody = null;
        }

        _buffer?.Dispose();
        _buffer = null;
    }

    /// <summary>
    /// A client-held ticket carries its own idle deadline, which a read cannot move. Re-issue it once a quarter of the idle
    /// window has passed, so a user who only reads is not signed out, without a new cookie on every request.
    /// </summary>
    private void RefreshIfClientHeld(StateSession session)
    {
        if (session.Loaded is { } loaded
            && !session.HasChanges
            && session.Store.Capabilities.Location == StateLocation.Client
            && runtime.Time.GetUtcNow() - loaded.LastAccessedAt >= loaded.IdleTimeout / 4)
        {
            session.Refresh();
        }
    }

    private string? ReadTicket(string channelName)
    {
        var ticket = runtime.Channel.Read(context, channelName);
        if (ticket is not null && ticket.Length > runtime.Options.MaxTicketLength)
        {
            Log.InboundTicketTooLong(runtime.Logger, channelName, ticket.Length);
            return null;
        }

        return ticket;
    }

    // Store names cannot hold '.', so "store.tier" never collides with another store's name; the default store's tiers
    // travel under the tier's own name, the same cookie as the tier's named store.
    private static string PartChannelName(string storeName, string part) => storeName.Length == 0 ? part : storeName + "." + part;

    private void SendTicket(string name, Tracked tracked)
    {
        if (tracked.PresentedParts is not null && tracked.Session.Store is ICompositeTicketStore composite)
        {
            var next = tracked.Session.Ticket is { } joined ? CompositeTicket.Split(joined, composite.PartNames) : new Dictionary<string, string>();
            foreach (var part in composite.PartNames)
            {
                tracked.PresentedParts.TryGetValue(part, out var before);
                next.TryGetValue(part, out var after);
                SendOne(PartChannelName(name, part), before, after, Expiry(tracked));
            }

            return;
        }

        SendOne(name, tracked.Presented, tracked.Session.Ticket, Expiry(tracked));
    }

    // A ticket re-issued by a load (sticky failover) comes without a commit result: the loaded session bounds it.
    private static DateTimeOffset? Expiry(Tracked tracked) => tracked.Result.AbsoluteExpiresAt ?? tracked.Session.Loaded?.AbsoluteExpiresAt;

    private void SendOne(string name, string? presented, string? ticket, DateTimeOffset? expires)
    {
        if (string.Equals(ticket, presented, StringComparison.Ordinal))
        {
            return;
        }

        if (context.Response.HasStarted)
        {
            Log.TicketNotSent(runtime.Logger, name);
            return;
        }

        // A response that carries a ticket (or drops one) is never stored by a shared cache, which would hand it to the
        // next user; whatever caching the handler asked for yields to that, whichever transport carries the ticket.
        context.Response.Headers.CacheControl = "no-store";
        if (ticket is null)
        {
            runtime.Channel.Delete(context, name);
            return;
        }

        if (ticket.Length > runtime.Options.MaxTicketLength)
        {
            throw new SessionTicketTooLargeException(ticket.Length, runtime.Options.MaxTicketLength);
        }

        runtime.Channel.Write(context, name, ticket, expires);
    }

    private void BufferResponse()
    {
        if (_buffer is not null || context.Response.HasStarted)
        {
            return;
        }

        _originalBody = context.Features.Get<IHttpResponseBodyFeature>();
        if (_originalBody is null)
        {
            return;
        }

        // Memory first, spilling to a temp file past 32 KB, as MVC's output buffering does.
        _buffer = new FileBufferingWriteStream();
        context.Features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(_buffer, _originalBody));
    }

    private async Task ReleaseAsync()
    {
        if (_buffer is null || _originalBody is null)
        {
            return;
        }

        context.Features.Set(_originalBody);
        await using (_buffer.ConfigureAwait(false))
        {
            if (_buffer.Length > 0 || !context.Response.HasStarted)
            {
                await _buffer.DrainBufferAsync(_originalBody.Writer, context.RequestAborted).ConfigureAwait(false);
            }
        }

        _buffer = null;
        _originalBody = null;
    }

    /// <summary>
    /// The handler's load (or a read that loads) found the store unavailable: nothing is committed, and the response is
    /// the one a failed commit gets, through the same <see cref="StateKitHttpOptions.OnCommitFailure"/> hook.
    /// </summary>
    public Task FailLoadAsync(SessionStoreUnavailableException error)
    {
        Log.LoadFailed(runtime.Logger, runtime.Options.CommitFailureStatusCode, error);
        return FailAsync(error, loading: true);
    }

    private async Task FailAsync(Exception error, bool loading)
    {
        var statusCode = runtime.Options.CommitFailureStatusCode;
        Abandon();
        if (context.Response.HasStarted)
        {
            // Nothing can be replaced any more; the log is all that is left, so make the connection say something is wrong.
            context.Abort();
            return;
        }

        context.Response.Clear();
        context.Response.StatusCode = statusCode;
        if (runtime.Options.OnCommitFailure is { } onFailure)
        {
            await onFailure(context, error).ConfigureAwait(false);
            return;
        }

        await Results.Problem(
            statusCode: statusCode,
            title: loading ? "The session could not be loaded." : "The session could not be saved.",
            detail: error is SessionStoreUnavailableException
                ? "The session store is unavailable. Nothing was saved; try again shortly."
                : "The session could not be saved. Nothing was saved.",
            type: "https://statekit.dev/errors/" + error.GetType().Name)
            .ExecuteAsync(context).ConfigureAwait(false);
    }

    private sealed class Tracked(StateSession session, string? presented, Dictionary<string, string>? presentedParts)
    {
        public StateSession Session { get; } = session;

        public string? Presented { get; } = presented;

        /// <summary>Gets the per-part tickets the client presented, for a composite (tiered) store; otherwise <see langword="null"/>.</summary>
        public Dictionary<string, string>? PresentedParts { get; } = presentedParts;

        public SessionCommitResult Result { get; set; }
    }
}
