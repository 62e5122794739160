using System;
using System.Collections.Generic;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StateKit.Diagnostics;
using StateKit.Events;

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
public sealed class ClientSideSessionStore : ISessionStore, IClientHeldTickets, ISessionEventSource
{
    internal const string Kind = "client-side";

    private readonly ClientSideSessionStoreOptions _options;
    private readonly ClientSideKeyRing _keys;
    private readonly int _plaintextBound;
    private readonly ClientHeldPipeline _pipeline;
    private readonly ILogger _logger;
    private readonly ClientHeldExpiry _expiry = new();

    /// <summary>Initializes a new instance of the <see cref="ClientSideSessionStore"/> class.</summary>
    /// <param name="options">The store's settings; validated here, keys included.</param>
    /// <param name="timeProvider">The clock, or <see langword="null"/> for <see cref="TimeProvider.System"/>.</param>
    /// <param name="logger">A logger, or <see langword="null"/> for none.</param>
    /// <exception cref="OptionsValidationException">An option or key is invalid, or there is no key; the message lists each problem.</exception>
    public ClientSideSessionStore(ClientSideSessionStoreOptions options, TimeProvider? timeProvider = null, ILogger<ClientSideSessionStore>? logger = null)
        : this(options, timeProvider, logger, ClientSideRandom.Fill)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="ClientSideSessionStore"/> class with sources of random bytes, for byte snapshots in tests.</summary>
    /// <param name="options">The store's settings.</param>
    /// <param name="timeProvider">The clock.</param>
    /// <param name="logger">A logger.</param>
    /// <param name="randomSource">Nonces and new sessions' ids.</param>
    /// <param name="saltSource">The salt of each sealing subkey; <see langword="null"/> for the OS CSPRNG.</param>
    internal ClientSideSessionStore(ClientSideSessionStoreOptions options, TimeProvider? timeProvider, ILogger? logger, SpanAction randomSource, SpanAction? saltSource = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.ThrowIfInvalid();
        _options = options;
        _logger = logger ?? NullLogger.Instance;
        _keys = BuildKeyRing(options, _logger, saltSource);
        _plaintextBound = ClientSideTicketFormat.PlaintextBound(options.MaxPayloadBytes);
        RandomSource = randomSource;

        // No clock skew: a sealed ticket's deadlines are exact, checked to the millisecond on every node.
        _pipeline = new ClientHeldPipeline(this, options, options.DenyList, timeProvider ?? TimeProvider.System, clockSkew: TimeSpan.Zero, reissueMargin: TimeSpan.Zero);
        Capabilities = new SessionStoreCapabilities
        {
            Location = StateLocation.Client,
            MaxPayloadBytes = options.MaxPayloadBytes,
            SurvivesNodeLoss = true,
            Concurrency = ConcurrencyGuarantee.LastWriterWins,
            Revocation = _pipeline.Revocation,

            // Opening the presented ticket is local and cheap, so a write needs no load of its own.
            SupportsBlindWrites = true,
            Events = SessionEventKinds.Expired,
        };
    }

    /// <inheritdoc />
    /// <remarks>
    /// Raises <see cref="SessionEventKinds.Expired"/> when a genuine ticket comes back past its deadline, once per session
    /// while this node remembers it: a ticket never sent again expires unseen.
    /// </remarks>
    void ISessionEventSource.AttachEvents(SessionEventSink sink) => _expiry.Events = sink;

    /// <summary>Fills a span with random bytes: nonces, and a new session's id; <see cref="ClientSideRandom.Fill"/> outside tests.</summary>
    internal delegate void SpanAction(Span<byte> bytes);

    /// <inheritdoc />
    public SessionStoreCapabilities Capabilities { get; }

    internal SpanAction RandomSource { get; }

    /// <inheritdoc />
    string IClientHeldTickets.StoreName => nameof(ClientSideSessionStore);

    /// <inheritdoc />
    string IClientHeldTickets.TicketNoun => "ticket";

    /// <inheritdoc />
    /// <remarks>A load cannot slide the idle deadline of a ticket the client holds; the next commit does, by re-sealing.</remarks>
    public ValueTask<SessionSnapshot?> LoadAsync(string ticket, CancellationToken cancellationToken = default)
        => _pipeline.LoadAsync(ticket, cancellationToken);

    /// <inheritdoc />
    /// <remarks>
    /// Every commit that changes something opens the presented ticket, applies the delta and seals a new ticket with the
    /// current key, which slides the idle deadline and moves tickets off retired keys. The returned ticket is never
    /// <see langword="null"/> after <see cref="SessionCommitOutcome.Committed"/>.
    /// </remarks>
    public ValueTask<SessionCommitResult> CommitAsync(SessionCommit commit, CancellationToken cancellationToken = default)
        => _pipeline.CommitAsync(commit, cancellationToken);

    /// <inheritdoc />
    /// <returns><see langword="true"/> when the id was not already denied. The store cannot tell whether a ticket of that id is still alive.</returns>
    /// <exception cref="NotSupportedException">No <see cref="ClientSideSessionStoreOptions.DenyList"/> is configured.</exception>
    public ValueTask<bool> RevokeAsync(string sessionId, CancellationToken cancellationToken = default)
        => _pipeline.RevokeAsync(sessionId, cancellationToken);

    /// <inheritdoc />
    /// <exception cref="NotSupportedException">Always: nothing server-side knows which tickets belong to a user.</exception>
    public ValueTask<int> RevokeUserAsync(string userId, CancellationToken cancellationToken = default)
        => throw _pipeline.RevokeUserNotSupported();

    /// <inheritdoc />
    ValueTask<SessionSnapshot?> IClientHeldTickets.OpenAsync(string? ticket, DateTimeOffset now) => ValueTask.FromResult(Open(ticket, now));

    /// <inheritdoc />
    /// <remarks>Borrowed, not copied: the values are sealed into the ticket before the commit returns and never kept.</remarks>
    Dictionary<string, ReadOnlyMemory<byte>> IClientHeldTickets.Apply(IReadOnlyDictionary<string, ReadOnlyMemory<byte>>? current, SessionCommit commit)
        => SessionPayload.ApplyBorrowingUpserts(current, commit);

    /// <inheritdoc />
    string IClientHeldTickets.IssueNew(IReadOnlyDictionary<string, ReadOnlyMemory<byte>> values, SessionCommit commit, DateTimeOffset now, out SessionSnapshot created)
    {
        // A new session needs a 128-bit id and a 96-bit nonce: one draw for both. The bytes come from the OS CSPRNG in
        // per-thread batches (ClientSideRandom says why that is acceptable for these two and not for server-side ids).
        Span<byte> random = stackalloc byte[SessionIds.ByteLength + ClientSideTicketFormat.NonceSize];
        RandomSource(random);
        created = SessionLifecycle.NewSession(SessionIds.FromBytes(random[..SessionIds.ByteLength]), values, commit, now, _options);
        var ticket = Seal(created, random[SessionIds.ByteLength..]);
        CryptographicOperations.ZeroMemory(random);
        return ticket;
    }

    /// <inheritdoc />
    string IClientHeldTickets.Issue(SessionSnapshot session, DateTimeOffset now) => Seal(session);

    /// <inheritdoc />
    /// <remarks>A rotated id comes straight from the OS CSPRNG, as a server-side id would.</remarks>
    string IClientHeldTickets.NewId() => SessionIds.NewId();

    /// <inheritdoc />
    void IClientHeldTickets.LogRejected(string reason) => Log.TicketRejected(_logger, reason);

    /// <inheritdoc />
    void IClientHeldTickets.LogTooLarge(SessionPayloadTooLargeException error) => Log.PayloadTooLarge(_logger, error.Size, error.Limit);

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
            _expiry.Report(session, now);
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

    private static ClientSideKeyRing BuildKeyRing(ClientSideSessionStoreOptions options, ILogger logger, SpanAction? saltSource)
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

        return new ClientSideKeyRing(material, options.Purpose, saltSource);
    }
}
