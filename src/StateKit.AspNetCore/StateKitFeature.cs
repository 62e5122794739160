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
/// The first access wraps the response body (<see cref="CommitOnStartBodyFeature"/>) so that the sessions are committed
/// at the moment the response starts (its first write or flush, <c>StartAsync</c>, or the end of the handler, whichever
/// comes first) and before anything reaches the client: a new ticket can still be set, and a failed commit replaces the
/// response instead of being lost behind a 200 already on the wire. The body itself is not buffered. A request that never
/// touches its session is not wrapped and costs no store call.
/// </remarks>
internal sealed class StateKitFeature(HttpContext context, StateKitHttpRuntime runtime, bool bufferResponse) : ISessionFeature, IDisposable
{
    private Dictionary<string, Tracked>? _sessions;
    private ISession? _session;
    private IHttpResponseBodyFeature? _originalBody;
    private FileBufferingWriteStream? _buffer;
    private StreamResponseBodyFeature? _bufferFeature;
    private CommitOnStartBodyFeature? _streaming;
    private CommitState _state;
    private bool _abandoned;
    private StateKitCommitFailedException? _failure;

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

        WrapResponse();
        tracked = new Tracked(new StateSession(store, ticket, runtime.Json), ticket, parts);
        _sessions.Add(storeName, tracked);
        if (_buffer is null && (_state == CommitState.Committed || context.Response.HasStarted))
        {
            // First touched after the response started: it can be read, but a change could be neither saved nor sent.
            tracked.Session.MakeReadOnly(runtime.ReadOnlyReason(storeName));
        }

        return tracked.Session;
    }

    /// <summary>
    /// The end of the handler: commits the sessions if the response has not started them yet (a failure replaces the
    /// response), then hands the response back to the server.
    /// </summary>
    public async Task CompleteAsync()
    {
        if (_sessions is null)
        {
            return;
        }

        try
        {
            if (_streaming is not null)
            {
                await _streaming.EnsureStartedAsync().ConfigureAwait(false);
            }
            else
            {
                await CommitBeforeStartAsync().ConfigureAwait(false);
            }
        }
        catch (StateKitCommitFailedException e)
        {
            await FailCommitAsync(e).ConfigureAwait(false);
            return;
        }

        await ReleaseAsync().ConfigureAwait(false);
    }

    /// <summary>The handler's write failed because the commit did (the handler may have swallowed it): answer the failure.</summary>
    public Task FailCommitAsync(StateKitCommitFailedException error)
    {
        Log.CommitFailed(runtime.Logger, error.Store, runtime.Options.CommitFailureStatusCode, error.Error);
        return FailAsync(error.Error, loading: false);
    }

    /// <summary>
    /// Commits every touched session and sends the tickets that changed, once, before the response starts. A failure is
    /// remembered and thrown again as <see cref="StateKitCommitFailedException"/> on every later call, so a handler that
    /// swallowed it cannot write past it.
    /// </summary>
    public async Task CommitBeforeStartAsync()
    {
        switch (_state)
        {
            case CommitState.Committed:
                return;
            case CommitState.Failed:
                throw _failure!;
        }

        if (_sessions is null)
        {
            _state = CommitState.Committed;
            return;
        }

        string current = SessionStores.DefaultName;
        try
        {
            foreach (var (name, tracked) in _sessions)
            {
                current = name;
                RefreshIfClientHeld(tracked.Session);
                if (_buffer is null)
                {
                    // Sealed before its commit, the session keeps what it read and wrote readable afterwards, without a reload.
                    tracked.Session.MakeReadOnly(runtime.ReadOnlyReason(name));
                }

                // Costs nothing when the session has nothing to write.
                tracked.Result = await tracked.Session.CommitAsync(context.RequestAborted).ConfigureAwait(false);
                if (tracked.Result.Outcome == SessionCommitOutcome.SessionLimitReached)
                {
                    // Not a store failure, so not the failure response: the app asked for a bind the store refused, and
                    // only the app knows what to tell the user. It cannot learn it from here, so the log says how to.
                    Log.BindRefusedBySessionLimit(runtime.Logger, name);
                }
            }

            foreach (var (name, tracked) in _sessions)
            {
                current = name;
                SendTicket(name, tracked);
            }
        }
        catch (StateKitException e)
        {
            _state = CommitState.Failed;
            _failure = new StateKitCommitFailedException(current, e);
            throw _failure;
        }

        _state = CommitState.Committed;
    }

    public void Dispose() => Abandon();

    /// <summary>The handler threw: give the response back to the error handlers, commit nothing.</summary>
    public void Abandon()
    {
        _abandoned = true;
        if (_originalBody is not null)
        {
            context.Features.Set(_originalBody);
            _originalBody = null;
        }

        _buffer?.Dispose();
        _buffer = null;
        _bufferFeature = null;
        _streaming?.Discard();
        _streaming = null;
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

    private void WrapResponse()
    {
        if (_originalBody is not null || context.Response.HasStarted)
        {
            return;
        }

        _originalBody = context.Features.Get<IHttpResponseBodyFeature>();
        if (_originalBody is null)
        {
            return;
        }

        if (bufferResponse)
        {
            // Opt-in: memory first, spilling to a temp file past 32 KB, as MVC's output buffering does.
            _buffer = new FileBufferingWriteStream();
            _bufferFeature = new StreamResponseBodyFeature(_buffer, _originalBody);
            context.Features.Set<IHttpResponseBodyFeature>(_bufferFeature);
            return;
        }

        _streaming = new CommitOnStartBodyFeature(_originalBody, CommitBeforeStartAsync);
        context.Features.Set<IHttpResponseBodyFeature>(_streaming);

        // A write that bypasses the wrapper (a body stream captured before the session was touched) still cannot leave
        // before the commit; a failure there is the server's 500, the most that can be done once the server is writing.
        context.Response.OnStarting(CommitOnServerStartAsync);
    }

    // Once abandoned (the handler threw) or failed, the response is an error page: it must commit nothing, nor fail again.
    private Task CommitOnServerStartAsync() => _abandoned || _state != CommitState.Pending ? Task.CompletedTask : CommitBeforeStartAsync();

    private async Task ReleaseAsync()
    {
        if (_originalBody is null)
        {
            return;
        }

        context.Features.Set(_originalBody);
        if (_buffer is not null)
        {
            // Bytes the handler left in the writer (GetMemory/Advance without a flush) belong to the body too. Completing the
            // feature flushes its writer only if the handler used one; asking for it here would build one per request.
            await _bufferFeature!.CompleteAsync().ConfigureAwait(false);

            await using (_buffer.ConfigureAwait(false))
            {
                if (_buffer.Length > 0 || !context.Response.HasStarted)
                {
                    await _buffer.DrainBufferAsync(_originalBody.Writer, context.RequestAborted).ConfigureAwait(false);
                }
            }
        }
        else if (_streaming is { WriterUsed: true } && _originalBody.Writer is { CanGetUnflushedBytes: true, UnflushedBytes: > 0 })
        {
            // Only after the handler wrote through the pipe writer: on a server whose body is a stream, asking for its
            // writer builds one.
            await _originalBody.Writer.FlushAsync(context.RequestAborted).ConfigureAwait(false);
        }

        _buffer = null;
        _bufferFeature = null;
        _streaming = null;
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
        Abandon();
        if (context.Response.HasStarted)
        {
            // Nothing can be replaced any more; the log is all that is left, so make the connection say something is wrong.
            context.Abort();
            return;
        }

        await StoreFailureResponse.WriteAsync(context, runtime.Options, error, loading).ConfigureAwait(false);
    }

    private enum CommitState
    {
        Pending,
        Committed,
        Failed,
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
