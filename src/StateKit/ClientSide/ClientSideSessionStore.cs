using System;
using System.Collections.Generic;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StateKit.Diagnostics;

namespace StateKit.ClientSide;

/// <summary>
/// Keeps the whole session inside the ticket, sealed with AES-256-GCM: the server stores nothing per session (unless a
/// deny list is configured), and the client can neither read nor change what it carries.
/// </summary>
/// <remarks>
/// <para>
/// What that costs, stated in <see cref="Capabilities"/>: the session must fit the ticket (<see cref="ClientSideSessionStoreOptions.MaxTicketLength"/>);
/// concurrent requests each get their own ticket, and the one the client keeps last wins; the idle deadline slides only when
/// a commit re-seals the ticket; and a ticket cannot be taken back before it expires unless
/// <see cref="ClientSideSessionStoreOptions.DenyList"/> is set. A client can always replay an older ticket of a live session.
/// </para>
/// <para>
/// Every bad ticket — too long, not canonical base64url, unknown key, forged, bound to another purpose, expired, revoked —
/// loads as no session, the same way, with no exception. The format is documented in docs/client-held.md.
/// </para>
/// </remarks>
public sealed class ClientSideSessionStore : ISessionStore
{
    internal const string Kind = "client-side";

    private readonly ClientSideSessionStoreOptions _options;
    private readonly ClientSideKeyRing _keys;
    private readonly int _plaintextBound;
    private readonly ISessionDenyList? _denyList;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    /// <summary>Initializes a new instance of the <see cref="ClientSideSessionStore"/> class.</summary>
    /// <param name="options">The store's settings; validated here, keys included.</param>
    /// <param name="timeProvider">The clock, or <see langword="null"/> for <see cref="TimeProvider.System"/>.</param>
    /// <param name="logger">A logger, or <see langword="null"/> for none.</param>
    /// <exception cref="OptionsValidationException">An option or key is invalid, or there is no key; the message lists each problem.</exception>
    public ClientSideSessionStore(ClientSideSessionStoreOptions options, TimeProvider? timeProvider = null, ILogger<ClientSideSessionStore>? logger = null)
        : this(options, timeProvider, logger, ClientSideRandom.Fill)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="ClientSideSessionStore"/> class with a source of random bytes, for byte snapshots in tests.</summary>
    internal ClientSideSessionStore(ClientSideSessionStoreOptions options, TimeProvider? timeProvider, ILogger? logger, SpanAction randomSource)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.ThrowIfInvalid();
        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        _keys = BuildKeyRing(options, _logger);
        _plaintextBound = ClientSideTicketFormat.PlaintextBound(options.MaxPayloadBytes);
        _denyList = options.DenyList;
        RandomSource = randomSource;
        Capabilities = new SessionStoreCapabilities
        {
            Location = StateLocation.Client,
            MaxPayloadBytes = options.MaxPayloadBytes,
            SurvivesNodeLoss = true,
            Concurrency = ConcurrencyGuarantee.LastWriterWins,
            Revocation = _denyList is null ? RevocationSupport.None : RevocationSupport.ById,

            // Opening the presented ticket is local and cheap, so a write needs no load of its own.
            SupportsBlindWrites = true,
        };
    }

    /// <summary>Fills a span with random bytes: nonces, and a new session's id; <see cref="ClientSideRandom.Fill"/> outside tests.</summary>
    internal delegate void SpanAction(Span<byte> bytes);

    /// <inheritdoc />
    public SessionStoreCapabilities Capabilities { get; }

    internal SpanAction RandomSource { get; }

    /// <inheritdoc />
    /// <remarks>A load cannot slide the idle deadline of a ticket the client holds; the next commit does, by re-sealing.</remarks>
    public ValueTask<SessionSnapshot?> LoadAsync(string ticket, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var session = Open(ticket, _time.GetUtcNow());
        if (session is null || _denyList is null)
        {
            return ValueTask.FromResult(session);
        }

        return CheckDenyListAsync(session, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Every commit that changes something opens the presented ticket, applies the delta and seals a new ticket with the
    /// current key, which slides the idle deadline and moves tickets off retired keys. The returned ticket is never
    /// <see langword="null"/> after <see cref="SessionCommitOutcome.Committed"/>.
    /// </remarks>
    public async ValueTask<SessionCommitResult> CommitAsync(SessionCommit commit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(commit);
        cancellationToken.ThrowIfCancellationRequested();
        if (!commit.HasChanges && !commit.Refresh)
        {
            return SessionCommitResult.NoChange;
        }

        var now = _time.GetUtcNow();
        if (commit.Ticket is null)
        {
            // Borrowed, not copied: the values are sealed into the ticket before this returns and never kept.
            var values = SessionPayload.ApplyBorrowingUpserts(null, commit);
            if (values.Count == 0)
            {
                return SessionCommitResult.NoChange;
            }

            CheckPayload(values);

            // A new session needs a 128-bit id and a 96-bit nonce: one draw for both. The bytes come from the OS CSPRNG in
            // per-thread batches (ClientSideRandom says why that is acceptable for these two and not for server-side ids).
            Span<byte> random = stackalloc byte[SessionIds.ByteLength + ClientSideTicketFormat.NonceSize];
            RandomSource(random);
            var created = SessionPayload.NewSession(SessionIds.FromBytes(random[..SessionIds.ByteLength]), values, commit, now, _options);
            var sealedTicket = Seal(created, random[SessionIds.ByteLength..]);
            CryptographicOperations.ZeroMemory(random);
            return SessionCommitResult.Committed(created, sealedTicket);
        }

        var current = Open(commit.Ticket, now);
        if (current is not null && _denyList is not null && await _denyList.IsDeniedAsync(current.Id, cancellationToken).ConfigureAwait(false))
        {
            Log.TicketRejected(_logger, "revoked");
            current = null;
        }

        if (current is null)
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

        var merged = SessionPayload.ApplyBorrowingUpserts(current.Values, commit);
        if (merged.Count == 0)
        {
            await DenyAsync(current, now, cancellationToken).ConfigureAwait(false);
            return SessionCommitResult.Deleted;
        }

        CheckPayload(merged);
        var next = SessionPayload.NextSession(current, merged, commit, now, SessionIds.NewId);

        // Seal before denying the old id: a commit that fails on size must not sign the user out.
        var ticket = Seal(next);
        if (commit.RotateId)
        {
            await DenyAsync(current, now, cancellationToken).ConfigureAwait(false);
        }

        return SessionCommitResult.Committed(next, ticket);
    }

    /// <inheritdoc />
    /// <returns><see langword="true"/> when the id was not already denied. The store cannot tell whether a ticket of that id is still alive.</returns>
    /// <exception cref="NotSupportedException">No <see cref="ClientSideSessionStoreOptions.DenyList"/> is configured.</exception>
    public async ValueTask<bool> RevokeAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sessionId);
        cancellationToken.ThrowIfCancellationRequested();
        if (_denyList is null)
        {
            throw new NotSupportedException(
                "ClientSideSessionStore cannot revoke a ticket the client holds unless a deny list is configured. Set ClientSideSessionStoreOptions.DenyList, "
                + "e.g. o.DenyList = new DistributedCacheSessionDenyList(cache) over a cache every node shares.");
        }

        if (sessionId.Length == 0)
        {
            return false;
        }

        // Any ticket of this id was sealed before now, so none outlives now + AbsoluteLifetime.
        return await _denyList.DenyAsync(sessionId, _time.GetUtcNow() + _options.AbsoluteLifetime, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <exception cref="NotSupportedException">Always: nothing server-side knows which tickets belong to a user.</exception>
    public ValueTask<int> RevokeUserAsync(string userId, CancellationToken cancellationToken = default)
        => throw new NotSupportedException(
            "ClientSideSessionStore cannot revoke by user: no server-side index knows which tickets a user holds. Revoke each session by id "
            + "(with a DenyList configured), or keep sessions that need \"sign out everywhere\" in a store whose Capabilities.Revocation includes ByUser.");

    /// <summary>Opens a ticket and checks its expiry: everything but the deny list, which needs I/O.</summary>
    internal SessionSnapshot? Open(string? ticket, DateTimeOffset now)
    {
        if (!ClientSideTicketFormat.TryOpen(ticket, _keys, _options.MaxTicketLength, _plaintextBound, out var session, out var keyId, out var reason))
        {
            Log.TicketRejected(_logger, reason);
            return null;
        }

        if (now >= session!.ExpiresAt)
        {
            Log.TicketRejected(_logger, "expired");
            return null;
        }

        if (keyId != _keys.Current.Id)
        {
            Log.TicketOpenedWithRetiredKey(_logger, keyId, _keys.Current.Id);
        }

        return session;
    }

    /// <summary>Seals a session with the current key and a fresh nonce.</summary>
    internal string Seal(SessionSnapshot session)
    {
        Span<byte> nonce = stackalloc byte[ClientSideTicketFormat.NonceSize];
        RandomSource(nonce);
        return Seal(session, nonce);
    }

    /// <summary>Seals a session with the current key and <paramref name="nonce"/>, fresh from <see cref="RandomSource"/>.</summary>
    private string Seal(SessionSnapshot session, ReadOnlySpan<byte> nonce)
    {
        try
        {
            return ClientSideTicketFormat.Seal(
                session,
                _keys.Current,
                nonce,
                _options.Compression,
                _options.CompressionThresholdBytes,
                _options.MaxTicketLength,
                _plaintextBound);
        }
        catch (SessionPayloadTooLargeException e)
        {
            Log.PayloadTooLarge(_logger, e.Size, e.Limit);
            throw;
        }
    }

    private static ClientSideKeyRing BuildKeyRing(ClientSideSessionStoreOptions options, ILogger logger)
    {
        var keys = new List<ClientSideKey>(options.Keys);
        if (options.KeyProvider is not null)
        {
            keys.AddRange(options.KeyProvider.GetKeys());
        }

        var errors = new List<string>();
        ClientSideSessionStoreOptions.CollectKeyErrors(keys, errors);
        OptionsValidation.ThrowIfAny(typeof(ClientSideSessionStoreOptions), errors);

        if (keys.Count == 0)
        {
            if (!options.UseEphemeralDevelopmentKey)
            {
                throw OptionsValidation.Failure(
                    typeof(ClientSideSessionStoreOptions),
                    ["The client-side store has no key: the KeyProvider returned none. Configure at least one key, or for local development only set UseEphemeralDevelopmentKey = true."]);
            }

            Log.EphemeralKeyInUse(logger);
            keys.Add(ClientSideKey.Generate(0));
        }

        var material = new List<(int, byte[])>(keys.Count);
        foreach (var key in keys)
        {
            material.Add((key.Id, key.TryGetMaterial()!));
        }

        return new ClientSideKeyRing(material, ClientSideTicketFormat.CreatePurposeData(options.Purpose));
    }

    private async ValueTask<SessionSnapshot?> CheckDenyListAsync(SessionSnapshot session, CancellationToken cancellationToken)
    {
        if (await _denyList!.IsDeniedAsync(session.Id, cancellationToken).ConfigureAwait(false))
        {
            Log.TicketRejected(_logger, "revoked");
            return null;
        }

        return session;
    }

    private async ValueTask DenyAsync(SessionSnapshot current, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (_denyList is null)
        {
            return;
        }

        // Other tickets of this id may have been sealed up to now, so the entry lives until the last of them could expire.
        var idle = current.IdleTimeout > _options.IdleTimeout ? current.IdleTimeout : _options.IdleTimeout;
        var until = now + idle < current.AbsoluteExpiresAt ? now + idle : current.AbsoluteExpiresAt;
        if (until > now)
        {
            await _denyList.DenyAsync(current.Id, until, cancellationToken).ConfigureAwait(false);
        }
    }

    private void CheckPayload(IReadOnlyDictionary<string, ReadOnlyMemory<byte>> values)
    {
        var size = SessionPayload.Size(values);
        try
        {
            SessionPayloadTooLargeException.ThrowIfOver(size, _options.MaxPayloadBytes);
        }
        catch (SessionPayloadTooLargeException e)
        {
            Log.PayloadTooLarge(_logger, e.Size, e.Limit);
            throw;
        }
    }

}
