using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using StateKit.ClientSide;
using StateKit.Events;
using StateKit.Serialization;

namespace StateKit.Jwt;

/// <summary>
/// Keeps the whole session in the claims of a signed JWT (<c>sid</c>, <c>jti</c>, <c>iss</c>, <c>aud</c>, <c>iat</c>,
/// <c>nbf</c>, <c>exp</c> and a private <c>stk</c> claim holding the values), validated with IdentityModel's
/// <see cref="JsonWebTokenHandler"/>. The server stores nothing per session unless a deny list is configured.
/// </summary>
/// <remarks>
/// <para>
/// Without <see cref="JwtSessionStoreOptions.Encryption"/> the token is signed, not encrypted: the client can read every
/// value in it (base64 is not secrecy), though it cannot change one. Keep secrets out, or turn encryption on.
/// </para>
/// <para>
/// Validation pins the algorithms, requires a signature and a known <c>kid</c>, checks issuer, audience and lifetime with
/// <see cref="JwtSessionStoreOptions.ClockSkew"/>, and caps the token's length before parsing it. The idle deadline slides
/// when a commit re-issues the token; the absolute lifetime, carried in the state, caps it. Any bad token loads as no session.
/// </para>
/// </remarks>
public sealed class JwtSessionStore : ISessionStore, IClientHeldTickets, ISessionEventSource
{
    internal const string Kind = "jwt";

    // A token within a second of its end cannot be re-issued with a later exp (whole seconds): it is as good as expired.
    private static readonly TimeSpan ReissueMargin = TimeSpan.FromSeconds(1);

    private readonly JwtSessionStoreOptions _options;
    private readonly JsonWebTokenHandler _handler = new() { SetDefaultTimesOnTokenCreation = false, MapInboundClaims = false };
    private readonly TokenValidationParameters _validation;
    private readonly SigningCredentials _signing;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ClientHeldPipeline _pipeline;
    private readonly ClientHeldExpiry _expiry = new();

    // Tokens that passed full validation or that this store issued, with the span of time they are acceptable in. Keyed by
    // the exact token string.
    private readonly TicketCache<ValidatedToken> _validated;

    /// <summary>Initializes a new instance of the <see cref="JwtSessionStore"/> class.</summary>
    /// <param name="options">The store's settings; validated here.</param>
    /// <param name="timeProvider">The clock, or <see langword="null"/> for <see cref="TimeProvider.System"/>. Token lifetimes follow it too.</param>
    /// <param name="logger">A logger, or <see langword="null"/> for none.</param>
    /// <exception cref="OptionsValidationException">An option is invalid; the message lists each one.</exception>
    public JwtSessionStore(JwtSessionStoreOptions options, TimeProvider? timeProvider = null, ILogger<JwtSessionStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.GetValidationErrors();
        OptionsValidation.ThrowIfAny(typeof(JwtSessionStoreOptions), errors);

        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _validated = new TicketCache<ValidatedToken>(options.ValidatedTokenCacheSize);

        // Validation accepts exp + ClockSkew, so a deny entry outlives the tokens it denies by as much.
        _pipeline = new ClientHeldPipeline(this, options, options.DenyList, _time, options.ClockSkew, ReissueMargin);
        var current = options.CurrentSigningKeyId is null
            ? options.SigningKeys[0]
            : options.SigningKeys.First(k => k.KeyId == options.CurrentSigningKeyId);
        _handler.MaximumTokenSizeInBytes = options.MaxTokenLength;
        _signing = new SigningCredentials(current, JwtSessionStoreOptions.AlgorithmFor(current));
        _validation = new TokenValidationParameters
        {
            ValidIssuer = options.Issuer,
            ValidAudience = options.Audience,
            ValidateIssuer = true,
            ValidateAudience = true,
            RequireAudience = true,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            ClockSkew = options.ClockSkew,

            // IdentityModel reads the system clock; lifetimes must follow the store's TimeProvider instead.
            LifetimeValidator = ValidateLifetime,
            RequireSignedTokens = true,
            // IdentityModel checks JWE key-management and content algorithms against the same list: pin those too.
            ValidAlgorithms = options.Encryption is null
                ? [.. options.AllowedAlgorithms]
                : [.. options.AllowedAlgorithms, options.Encryption.Alg, options.Encryption.Enc],
            IssuerSigningKeys = [.. options.SigningKeys],

            // The kid must name a key of the ring; never fall back to trying every key.
            TryAllIssuerSigningKeys = false,
            TokenDecryptionKeys = options.Encryption is null ? null : [options.Encryption.Key],
            ValidateTokenReplay = false,
            SaveSigninToken = false,
        };
        Capabilities = new SessionStoreCapabilities
        {
            Location = StateLocation.Client,
            MaxPayloadBytes = options.MaxPayloadBytes,
            SurvivesNodeLoss = true,
            Concurrency = ConcurrencyGuarantee.LastWriterWins,
            Revocation = _pipeline.Revocation,
            SupportsBlindWrites = true,
            Events = SessionEventKinds.Expired,
        };
    }

    /// <inheritdoc />
    public SessionStoreCapabilities Capabilities { get; }

    /// <inheritdoc />
    /// <remarks>
    /// Raises <see cref="SessionEventKinds.Expired"/> when a token this node validated comes back past its session's
    /// deadline, or one arrives within the clock skew after it; once per session while this node remembers it. A token past
    /// its <c>exp</c> that this node never validated fails validation before its claims are trusted, so it raises nothing.
    /// </remarks>
    void ISessionEventSource.AttachEvents(SessionEventSink sink) => _expiry.Events = sink;

    /// <summary>Gets how many validated tokens the store remembers; for tests.</summary>
    internal int ValidatedTokenCount => _validated.Count;

    /// <summary>Mints session ids and <c>jti</c>s (<see cref="ClientSideRandom.NewId"/>, which says why its bytes may be buffered); tests pin it for byte snapshots.</summary>
    internal Func<string> NewId { get; set; } = ClientSideRandom.NewId;

    /// <inheritdoc />
    string IClientHeldTickets.StoreName => nameof(JwtSessionStore);

    /// <inheritdoc />
    string IClientHeldTickets.TicketNoun => "token";

    /// <inheritdoc />
    /// <remarks>A load cannot slide the deadline of a token the client holds; the next commit re-issues it.</remarks>
    public ValueTask<SessionSnapshot?> LoadAsync(string ticket, CancellationToken cancellationToken = default)
        => _pipeline.LoadAsync(ticket, cancellationToken);

    /// <inheritdoc />
    public ValueTask<SessionCommitResult> CommitAsync(SessionCommit commit, CancellationToken cancellationToken = default)
        => _pipeline.CommitAsync(commit, cancellationToken);

    /// <inheritdoc />
    /// <returns><see langword="true"/> when the <c>sid</c> was not already denied.</returns>
    /// <exception cref="NotSupportedException">No <see cref="JwtSessionStoreOptions.DenyList"/> is configured.</exception>
    public ValueTask<bool> RevokeAsync(string sessionId, CancellationToken cancellationToken = default)
        => _pipeline.RevokeAsync(sessionId, cancellationToken);

    /// <inheritdoc />
    /// <exception cref="NotSupportedException">Always: nothing server-side knows which tokens belong to a user.</exception>
    public ValueTask<int> RevokeUserAsync(string userId, CancellationToken cancellationToken = default)
        => throw _pipeline.RevokeUserNotSupported();

    /// <inheritdoc />
    ValueTask<SessionSnapshot?> IClientHeldTickets.OpenAsync(string? ticket, DateTimeOffset now) => ValidateAsync(ticket, now);

    /// <inheritdoc />
    /// <remarks>Copied: the issued token is remembered with its session, so the caller's buffers must not be kept.</remarks>
    Dictionary<string, ReadOnlyMemory<byte>> IClientHeldTickets.Apply(IReadOnlyDictionary<string, ReadOnlyMemory<byte>>? current, SessionCommit commit)
        => SessionPayload.Apply(current, commit);

    /// <inheritdoc />
    string IClientHeldTickets.IssueNew(IReadOnlyDictionary<string, ReadOnlyMemory<byte>> values, SessionCommit commit, DateTimeOffset now, out SessionSnapshot created)
    {
        created = SessionLifecycle.NewSession(NewId(), values, commit, now, _options);
        return Issue(created, now);
    }

    /// <inheritdoc />
    string IClientHeldTickets.Issue(SessionSnapshot session, DateTimeOffset now) => Issue(session, now);

    /// <inheritdoc />
    string IClientHeldTickets.NewId() => NewId();

    /// <inheritdoc />
    void IClientHeldTickets.LogRejected(string reason) => Log.TokenRejected(_logger, reason);

    /// <inheritdoc />
    void IClientHeldTickets.LogTooLarge(SessionPayloadTooLargeException error) => Log.TokenTooLarge(_logger, error.Size, error.Limit, error.LimitName);

    /// <summary>Validates a token at the store's current time; for tests.</summary>
    internal ValueTask<SessionSnapshot?> ValidateAsync(string? token) => ValidateAsync(token, _time.GetUtcNow());

    /// <summary>Validates a token and reads the session from it; every failure is <see langword="null"/>, nothing throws.</summary>
    private async ValueTask<SessionSnapshot?> ValidateAsync(string? token, DateTimeOffset now)
    {
        if (string.IsNullOrEmpty(token) || token.Length > _options.MaxTokenLength)
        {
            Log.TokenRejected(_logger, string.IsNullOrEmpty(token) ? "empty" : "too long");
            return null;
        }

        if (_validated.TryGet(token, out var remembered))
        {
            // The very string validated (or signed) before: signature, algorithm, kid, issuer and audience cannot have changed;
            // only time has, so nbf and exp are judged again, with skew, as a full validation would.
            if (now < remembered.NotAfter && now >= remembered.NotBefore)
            {
                return remembered.Session;
            }

            _validated.Remove(token);
            Log.TokenRejected(_logger, "expired");
            if (now >= remembered.NotAfter)
            {
                _expiry.Report(remembered.Session, now);
            }

            return null;
        }

        if (!IsCanonicalCompact(token))
        {
            Log.TokenRejected(_logger, "malformed");
            return null;
        }

        TokenValidationResult result;
        try
        {
            result = await _handler.ValidateTokenAsync(token, _validation).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Whatever a hostile token makes the parser throw, it is "no session".
        catch (Exception)
#pragma warning restore CA1031
        {
            Log.TokenRejected(_logger, "unreadable");
            return null;
        }

        if (!result.IsValid || result.SecurityToken is not JsonWebToken jwt)
        {
            Log.TokenRejected(_logger, "failed validation");
            return null;
        }

        // With encryption, the signed token is the inner one.
        var signed = jwt.InnerToken ?? jwt;
        if (string.IsNullOrEmpty(signed.Kid)
            || !signed.TryGetPayloadValue<string>(JwtRegisteredClaimNames.Sid, out var sid) || string.IsNullOrEmpty(sid)
            || !signed.TryGetPayloadValue<string>(JwtDefaults.StateClaim, out var state) || state is null
            || !JwtStateFormat.TryReadClaim(sid, state, out var session))
        {
            Log.TokenRejected(_logger, "missing claims");
            return null;
        }

        // exp is whole seconds plus skew; the session's own deadlines are exact and have no skew.
        if (now >= session!.ExpiresAt)
        {
            Log.TokenRejected(_logger, "expired");
            _expiry.Report(session, now);
            return null;
        }

        Remember(token, session, Utc(signed.ValidFrom), Utc(signed.ValidTo));
        return session;
    }

    private static DateTimeOffset Utc(DateTime time) => new(DateTime.SpecifyKind(time, DateTimeKind.Utc));

    private void Remember(string token, SessionSnapshot session, DateTimeOffset notBefore, DateTimeOffset expires)
    {
        if (_validated.Capacity <= 0)
        {
            return;
        }

        // Acceptable from nbf minus skew until the earlier of the session's own deadline and exp plus skew, as a full validation would judge.
        var exp = expires + _options.ClockSkew;
        var notAfter = session.ExpiresAt < exp ? session.ExpiresAt : exp;
        var validFrom = notBefore == DateTimeOffset.MinValue ? notBefore : notBefore - _options.ClockSkew;
        _validated.Add(token, new ValidatedToken(session, validFrom, notAfter));
    }

    /// <summary>Issues a token for a session with the current signing key.</summary>
    internal string Issue(SessionSnapshot session, DateTimeOffset now)
    {
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = _options.Issuer,
            Audience = _options.Audience,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = session.ExpiresAt.UtcDateTime,
            SigningCredentials = _signing,
            EncryptingCredentials = _options.Encryption,
            Claims = new Dictionary<string, object>
            {
                [JwtRegisteredClaimNames.Sid] = session.Id,
                [JwtRegisteredClaimNames.Jti] = NewId(),
                [JwtDefaults.StateClaim] = JwtStateFormat.WriteClaim(session),
            },
        };
        var token = _handler.CreateToken(descriptor);
        try
        {
            SessionPayloadTooLargeException.ThrowIfOver(token.Length, _options.MaxTokenLength, "MaxTokenLength");
        }
        catch (SessionPayloadTooLargeException e)
        {
            Log.TokenTooLarge(_logger, e.Size, e.Limit, e.LimitName);
            throw;
        }

        // This store signed the token a moment ago, so it knows what a full validation would find in it: the session as the
        // stk claim reads back (whole milliseconds), nbf and exp in whole seconds as IdentityModel wrote them. The client
        // usually presents it next, mostly to this node; remembering it now spares that request the signature check.
        Remember(token, JwtStateFormat.AsRead(session), WholeSeconds(now), WholeSeconds(session.ExpiresAt));
        return token;
    }

    // As IdentityModel writes iat, nbf and exp (EpochTime.GetIntDate): whole seconds, truncated.
    private static DateTimeOffset WholeSeconds(DateTimeOffset time) => DateTimeOffset.FromUnixTimeSeconds(time.ToUnixTimeSeconds());

    private bool ValidateLifetime(DateTime? notBefore, DateTime? expires, SecurityToken token, TokenValidationParameters parameters)
    {
        var now = _time.GetUtcNow().UtcDateTime;
        return expires is not null
            && now < expires.Value + parameters.ClockSkew
            && (notBefore is null || now >= notBefore.Value - parameters.ClockSkew);
    }

    private static bool IsCanonicalCompact(string token)
    {
        // JWS: header.payload.signature; JWE: header.key.iv.ciphertext.tag (the key segment is empty with "dir").
        var segments = 0;
        foreach (var range in token.AsSpan().Split('.'))
        {
            if (!Base64UrlText.IsCanonical(token.AsSpan()[range]))
            {
                return false;
            }

            segments++;
        }

        return segments is 3 or 5;
    }

    private sealed record ValidatedToken(SessionSnapshot Session, DateTimeOffset NotBefore, DateTimeOffset NotAfter);
}
