using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace StateKit.AspNetCore;

/// <summary>
/// Keeps cookie authentication's tickets in a server-held StateKit store: the cookie carries only a key (inside the
/// cookie handler's data-protected payload), and the ticket lives in a session bound to its user, so
/// <see cref="RevokeUserAsync"/> signs a user out everywhere. Registered with <c>AddCookie().UseStateKitTickets()</c>.
/// </summary>
/// <remarks>
/// <para>
/// The store's deadlines govern the sign-in: every authenticated request loads the session, which slides its idle deadline
/// in the same operation, so staying signed in costs no write. The ticket handed to the cookie handler expires at the
/// earliest of the store's idle deadline, its absolute deadline, and the <see cref="AuthenticationProperties.ExpiresUtc"/>
/// set at sign-in; its <see cref="AuthenticationProperties.IssuedUtc"/> is the moment of that load, since the load renewed it.
/// A renewal writes only when the ticket changed (a claim, a property); one that changes nothing costs nothing.
/// </para>
/// <para>
/// A store that is unavailable makes <c>RetrieveAsync</c> throw <see cref="SessionStoreUnavailableException"/>, never
/// return <see langword="null"/>, which would sign the user out; the request is answered like any other StateKit store
/// failure (503 by default). An unknown, expired or revoked key is anonymous.
/// </para>
/// <para>
/// A sign-in the store's <c>MaxSessionsPerUser</c> refuses (<see cref="UserSessionLimitPolicy.RefuseNewSession"/>) makes
/// <c>SignInAsync</c> throw <see cref="SessionLimitReachedException"/>, having written nothing; catch it where the user signs
/// in. <see cref="GetCurrentPublicId"/> names the request's own sign-in in the user's listing (<see cref="ISessionLister"/>).
/// </para>
/// </remarks>
public sealed class StateKitTicketStore : ITicketStore
{
    /// <summary>The session key the serialized ticket is kept under.</summary>
    internal const string TicketKey = "statekit.auth.ticket";

    private readonly ISessionStore _store;
    private readonly string _userIdClaimType;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Func<HttpContext, IReadOnlyDictionary<string, string>?>? _signInMetadata;

    internal StateKitTicketStore(
        ISessionStore store,
        string storeName,
        string userIdClaimType,
        TimeProvider? time = null,
        ILogger? logger = null,
        Func<HttpContext, IReadOnlyDictionary<string, string>?>? signInMetadata = null)
    {
        _signInMetadata = signInMetadata;
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
        StoreName = storeName;
        _userIdClaimType = userIdClaimType;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>Gets the name of the StateKit store the tickets live in (empty for the default store).</summary>
    public string StoreName { get; }

    /// <summary>Gets the StateKit store the tickets live in.</summary>
    internal ISessionStore Store => _store;

    /// <summary>
    /// Signs a user out everywhere: every session bound to <paramref name="userId"/> in this store is deleted, so the next
    /// request with any of that user's cookies is anonymous.
    /// </summary>
    /// <param name="userId">The value of the user's id claim (<see cref="StateKitTicketStoreOptions.UserIdClaimType"/>).</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>How many live sessions were ended.</returns>
    /// <exception cref="NotSupportedException">The store keeps no user index (see <see cref="SessionStoreCapabilities.Revocation"/>).</exception>
    /// <exception cref="SessionStoreUnavailableException">The store could not be reached; nobody was signed out that the caller can count on.</exception>
    public async Task<int> RevokeUserAsync(string userId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        return await _store.RevokeUserAsync(userId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Gets the public id of the sign-in the request was authenticated with: the session its cookie's key names, as
    /// <see cref="UserSessionInfo.PublicId"/> shows it in the user's listing, so that an account page can mark "this device".
    /// Never the key itself, which is a credential.
    /// </summary>
    /// <param name="httpContext">The request, after this store's cookie scheme authenticated it (<c>UseAuthentication</c> for
    /// the default scheme, or <c>AuthenticateAsync</c>).</param>
    /// <returns>
    /// The public id, or <see langword="null"/> when the request's cookie named no live sign-in of this store: anonymous, not
    /// authenticated by this scheme yet, or signed in or out during this request.
    /// </returns>
    public string? GetCurrentPublicId(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        return httpContext.Items[this] is Retrieved retrieved ? retrieved.Snapshot.ToPublicId() : null;
    }

    /// <inheritdoc />
    public Task<string> StoreAsync(AuthenticationTicket ticket) => StoreAsync(ticket, CancellationToken.None);

    /// <inheritdoc />
    public Task<string> StoreAsync(AuthenticationTicket ticket, CancellationToken cancellationToken) => StoreCoreAsync(ticket, null, cancellationToken);

    /// <inheritdoc />
    public Task<string> StoreAsync(AuthenticationTicket ticket, HttpContext httpContext, CancellationToken cancellationToken) => StoreCoreAsync(ticket, httpContext, cancellationToken);

    /// <inheritdoc />
    public Task RenewAsync(string key, AuthenticationTicket ticket) => RenewAsync(key, ticket, CancellationToken.None);

    /// <inheritdoc />
    public Task RenewAsync(string key, AuthenticationTicket ticket, CancellationToken cancellationToken) => RenewCoreAsync(key, ticket, null, cancellationToken);

    /// <inheritdoc />
    public Task RenewAsync(string key, AuthenticationTicket ticket, HttpContext httpContext, CancellationToken cancellationToken) => RenewCoreAsync(key, ticket, httpContext, cancellationToken);

    /// <inheritdoc />
    public Task<AuthenticationTicket?> RetrieveAsync(string key) => RetrieveAsync(key, CancellationToken.None);

    /// <inheritdoc />
    public Task<AuthenticationTicket?> RetrieveAsync(string key, CancellationToken cancellationToken) => RetrieveCoreAsync(key, null, cancellationToken);

    /// <inheritdoc />
    public Task<AuthenticationTicket?> RetrieveAsync(string key, HttpContext httpContext, CancellationToken cancellationToken) => RetrieveCoreAsync(key, httpContext, cancellationToken);

    /// <inheritdoc />
    public Task RemoveAsync(string key) => RemoveAsync(key, CancellationToken.None);

    /// <inheritdoc />
    public Task RemoveAsync(string key, CancellationToken cancellationToken) => RemoveCoreAsync(key, null, cancellationToken);

    /// <inheritdoc />
    public Task RemoveAsync(string key, HttpContext httpContext, CancellationToken cancellationToken) => RemoveCoreAsync(key, httpContext, cancellationToken);

    private async Task<string> StoreCoreAsync(AuthenticationTicket ticket, HttpContext? httpContext, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ticket);
        var userId = UserIdOf(ticket);
        var session = new StateSession(_store, null);
        session.SetBytes(TicketKey, TicketSerializer.Default.Serialize(ticket));
        session.BindUser(userId, httpContext is null ? null : _signInMetadata?.Invoke(httpContext));
        var result = await session.CommitAsync(cancellationToken).ConfigureAwait(false);
        if (result.Outcome == SessionCommitOutcome.SessionLimitReached)
        {
            Log.SignInRefusedBySessionLimit(_logger, StoreName);
            throw new SessionLimitReachedException(StoreName);
        }

        var key = session.Ticket ?? throw new InvalidOperationException($"StateKit store '{StoreName}' committed the sign-in but issued no ticket.");
        httpContext?.Items.Remove(this);
        return key;
    }

    private async Task<AuthenticationTicket?> RetrieveCoreAsync(string key, HttpContext? httpContext, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(key))
        {
            return null;
        }

        // Throws SessionStoreUnavailableException when the store is down: null here would sign the user out.
        var snapshot = await _store.LoadAsync(key, cancellationToken).ConfigureAwait(false);
        if (snapshot is null || !snapshot.Values.TryGetValue(TicketKey, out var bytes) || Deserialize(bytes) is not { } ticket)
        {
            return null;
        }

        if (httpContext is not null)
        {
            // The cookie handler renews within the same request: it compares against this, without a second load.
            httpContext.Items[this] = new Retrieved(key, snapshot, bytes);
        }

        // The load slid the idle deadline: the ticket is renewed as of now, and ends at the store's first deadline.
        // A deadline a store does not report (zero, default) bounds nothing.
        var now = _time.GetUtcNow();
        var expires = ticket.Properties.ExpiresUtc ?? DateTimeOffset.MaxValue;
        if (snapshot.IdleTimeout > TimeSpan.Zero)
        {
            expires = Earliest(expires, now + snapshot.IdleTimeout);
        }

        if (snapshot.AbsoluteExpiresAt != default)
        {
            expires = Earliest(expires, snapshot.AbsoluteExpiresAt);
        }

        ticket.Properties.IssuedUtc = now;
        ticket.Properties.ExpiresUtc = expires;
        return ticket;
    }

    private async Task RenewCoreAsync(string key, AuthenticationTicket ticket, HttpContext? httpContext, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(ticket);
        SessionSnapshot? snapshot;
        ReadOnlyMemory<byte> stored;
        if (httpContext?.Items[this] is Retrieved known && string.Equals(known.Key, key, StringComparison.Ordinal))
        {
            (snapshot, stored) = (known.Snapshot, known.Bytes);
        }
        else
        {
            snapshot = await _store.LoadAsync(key, cancellationToken).ConfigureAwait(false);
            stored = snapshot is not null && snapshot.Values.TryGetValue(TicketKey, out var bytes) ? bytes : default;
        }

        if (snapshot is null || stored.IsEmpty || Deserialize(stored) is not { } previous)
        {
            // Nothing to renew: the session ended meanwhile, and StateKit mints its own keys, so none can be revived under
            // this one. The cookie the handler writes names nothing, and the next request is anonymous.
            return;
        }

        var userId = UserIdOf(ticket);
        if (snapshot.UserId is { } bound && !string.Equals(bound, userId, StringComparison.Ordinal))
        {
            // The cookie handler keeps the key of the session a request arrived with, even when another user signs in over it.
            // Rebinding would hand the new user's sign-in to whoever else holds that key (a planted cookie: session fixation),
            // so the session ends instead, and the next request is anonymous: the user signs in again under a fresh key.
            Log.TicketUserChanged(_logger, StoreName, snapshot.ToPublicId());
            await _store.CommitAsync(new SessionCommit { Ticket = key, Base = snapshot, Revoke = true }, cancellationToken).ConfigureAwait(false);
            httpContext?.Items.Remove(this);
            return;
        }

        // The handler's sliding renewal moves IssuedUtc and ExpiresUtc, which the store already slid on load: they are not
        // part of what is compared, and the sign-in's own values stay. Anything else that changed is written, once. A copy:
        // the handler goes on using the properties it passed.
        var properties = ticket.Properties.Clone();
        properties.IssuedUtc = previous.Properties.IssuedUtc;
        properties.ExpiresUtc = previous.Properties.ExpiresUtc;
        var renewed = TicketSerializer.Default.Serialize(new AuthenticationTicket(ticket.Principal, properties, ticket.AuthenticationScheme));
        if (stored.Span.SequenceEqual(renewed))
        {
            return;
        }

        await _store.CommitAsync(
            new SessionCommit
            {
                Ticket = key,
                Base = snapshot,
                Upserts = new Dictionary<string, ReadOnlyMemory<byte>>(StringComparer.Ordinal) { [TicketKey] = renewed },
                BindUserId = snapshot.UserId is null ? userId : null,
            },
            cancellationToken).ConfigureAwait(false);
        if (httpContext is not null)
        {
            httpContext.Items[this] = new Retrieved(key, snapshot, renewed);
        }
    }

    private async Task RemoveCoreAsync(string key, HttpContext? httpContext, CancellationToken cancellationToken)
    {
        httpContext?.Items.Remove(this);
        if (string.IsNullOrEmpty(key))
        {
            return;
        }

        // A blind revoke: no load. A store that is down throws, so a sign-out never looks done when it is not.
        var session = new StateSession(_store, key);
        session.Revoke();
        await session.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    private string UserIdOf(AuthenticationTicket ticket)
    {
        var claim = ticket.Principal.FindFirst(_userIdClaimType)?.Value;
        return string.IsNullOrEmpty(claim)
            ? throw new InvalidOperationException(
                $"The principal signing in has no '{_userIdClaimType}' claim, which StateKit binds the session to so that RevokeUserAsync can sign the user out everywhere. " +
                $"Add the claim at sign-in, or name the claim that holds the user's id: UseStateKitTickets(configure: o => o.UserIdClaimType = \"sub\").")
            : claim;
    }

    // A stored ticket the framework can no longer read (written by another version of it) is anonymous, like an unknown key.
    // Read in place: every authenticated request deserializes its ticket, and a copy would cost the ticket's size each time.
    private static AuthenticationTicket? Deserialize(ReadOnlyMemory<byte> bytes)
    {
        try
        {
            var segment = MemoryMarshal.TryGetArray(bytes, out var array) ? array : new ArraySegment<byte>(bytes.ToArray());
            using var stream = new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false);
            using var reader = new BinaryReader(stream);
            return TicketSerializer.Default.Read(reader);
        }
        catch (Exception e) when (e is IOException or FormatException or ArgumentException or InvalidOperationException)
        {
            return null;
        }
    }

    private static DateTimeOffset Earliest(DateTimeOffset a, DateTimeOffset b) => a <= b ? a : b;

    private sealed record Retrieved(string Key, SessionSnapshot Snapshot, ReadOnlyMemory<byte> Bytes);
}
