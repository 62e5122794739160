using System;
using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
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
public sealed class JwtSessionStore : ISessionStore
{
    internal const string Kind = "jwt";

    private const int IdBatchBytes = 32 * 16;

    [ThreadStatic]
    private static byte[]? t_idBytes;

    [ThreadStatic]
    private static int t_idOffset;

    private readonly JwtSessionStoreOptions _options;
    private readonly JsonWebTokenHandler _handler = new() { SetDefaultTimesOnTokenCreation = false, MapInboundClaims = false };
    private readonly TokenValidationParameters _validation;
    private readonly SigningCredentials _signing;
    private readonly ISessionDenyList? _denyList;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    // Tokens that passed full validation or that this store issued, with the span of time they are acceptable in. Keyed by
    // the exact token string.
    private readonly ConcurrentDictionary<string, ValidatedToken>? _validated;
    private readonly int _validatedCapacity;

    // Counted here: ConcurrentDictionary.Count takes every one of its locks, which costs more than the validation it saves.
    private int _validatedCount;

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
        _denyList = options.DenyList;
        _validatedCapacity = options.ValidatedTokenCacheSize;
        _validated = _validatedCapacity > 0 ? new ConcurrentDictionary<string, ValidatedToken>(StringComparer.Ordinal) : null;
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
            Revocation = _denyList is null ? RevocationSupport.None : RevocationSupport.ById,
            SupportsBlindWrites = true,
        };
    }

    /// <inheritdoc />
    public SessionStoreCapabilities Capabilities { get; }

    /// <summary>Gets how many validated tokens the store remembers; for tests.</summary>
    internal int ValidatedTokenCount => _validated?.Count ?? 0;

    /// <summary>Mints session ids and <c>jti</c>s; tests pin it for byte snapshots.</summary>
    internal Func<string> NewId { get; set; } = NewRandomId;

    /// <inheritdoc />
    /// <remarks>A load cannot slide the deadline of a token the client holds; the next commit re-issues it.</remarks>
    public async ValueTask<SessionSnapshot?> LoadAsync(string ticket, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var session = await ValidateAsync(ticket).ConfigureAwait(false);
        if (session is not null && _denyList is not null && await _denyList.IsDeniedAsync(session.Id, cancellationToken).ConfigureAwait(false))
        {
            Log.TokenRejected(_logger, "revoked");
            return null;
        }

        return session;
    }

    /// <inheritdoc />
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
            var values = SessionPayload.Apply(null, commit);
            if (values.Count == 0)
            {
                return SessionCommitResult.NoChange;
            }

            CheckPayload(values);
            var created = SessionPayload.NewSession(NewId(), values, commit, now, _options);
            return SessionCommitResult.Committed(created, Issue(created, now));
        }

        var current = await LoadAsync(commit.Ticket, cancellationToken).ConfigureAwait(false);

        // A token within a second of its end cannot be re-issued with a later exp: it is as good as expired.
        if (current is null || current.ExpiresAt - now < TimeSpan.FromSeconds(1))
        {
            return SessionCommitResult.NotFound;
        }

        if (commit.Revoke)
        {
            await DenyAsync(current, now, cancellationToken).ConfigureAwait(false);
            return SessionCommitResult.Deleted;
        }

        if (commit.Mode == SessionCommitMode.RequireBaseVersion && commit.Base is not null
            && (commit.Base.Version != current.Version || commit.Base.Id != current.Id))
        {
            return SessionCommitResult.Conflict;
        }

        var merged = SessionPayload.Apply(current.Values, commit);
        if (merged.Count == 0)
        {
            await DenyAsync(current, now, cancellationToken).ConfigureAwait(false);
            return SessionCommitResult.Deleted;
        }

        CheckPayload(merged);
        var next = SessionPayload.NextSession(current, merged, commit, now, NewId);
        var token = Issue(next, now);
        if (commit.RotateId)
        {
            await DenyAsync(current, now, cancellationToken).ConfigureAwait(false);
        }

        return SessionCommitResult.Committed(next, token);
    }

    /// <inheritdoc />
    /// <returns><see langword="true"/> when the <c>sid</c> was not already denied.</returns>
    /// <exception cref="NotSupportedException">No <see cref="JwtSessionStoreOptions.DenyList"/> is configured.</exception>
    public async ValueTask<bool> RevokeAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sessionId);
        cancellationToken.ThrowIfCancellationRequested();
        if (_denyList is null)
        {
            throw new NotSupportedException(
                "JwtSessionStore cannot revoke a token the client holds unless a deny list is configured. Set JwtSessionStoreOptions.DenyList, "
                + "e.g. o.DenyList = new DistributedCacheSessionDenyList(cache) over a cache every node shares.");
        }

        return sessionId.Length > 0
            && await _denyList.DenyAsync(sessionId, _time.GetUtcNow() + _options.AbsoluteLifetime, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <exception cref="NotSupportedException">Always: nothing server-side knows which tokens belong to a user.</exception>
    public ValueTask<int> RevokeUserAsync(string userId, CancellationToken cancellationToken = default)
        => throw new NotSupportedException(
            "JwtSessionStore cannot revoke by user: no server-side index knows which tokens a user holds. Revoke each session by id "
            + "(with a DenyList configured), or keep sessions that need \"sign out everywhere\" in a store whose Capabilities.Revocation includes ByUser.");

    /// <summary>Validates a token and reads the session from it; every failure is <see langword="null"/>, nothing throws.</summary>
    internal async ValueTask<SessionSnapshot?> ValidateAsync(string? token)
    {
        if (string.IsNullOrEmpty(token) || token.Length > _options.MaxTokenLength)
        {
            Log.TokenRejected(_logger, string.IsNullOrEmpty(token) ? "empty" : "too long");
            return null;
        }

        if (_validated is not null && _validated.TryGetValue(token, out var remembered))
        {
            // The very string validated (or signed) before: signature, algorithm, kid, issuer and audience cannot have changed;
            // only time has, so nbf and exp are judged again, with skew, as a full validation would.
            var now = _time.GetUtcNow();
            if (now < remembered.NotAfter && now >= remembered.NotBefore)
            {
                return remembered.Session;
            }

            if (_validated.TryRemove(token, out _))
            {
                Interlocked.Decrement(ref _validatedCount);
            }

            Log.TokenRejected(_logger, "expired");
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
        if (_time.GetUtcNow() >= session!.ExpiresAt)
        {
            Log.TokenRejected(_logger, "expired");
            return null;
        }

        Remember(token, session, Utc(signed.ValidFrom), Utc(signed.ValidTo));
        return session;
    }

    private static DateTimeOffset Utc(DateTime time) => new(DateTime.SpecifyKind(time, DateTimeKind.Utc));

    private void Remember(string token, SessionSnapshot session, DateTimeOffset notBefore, DateTimeOffset expires)
    {
        if (_validated is null)
        {
            return;
        }

        // Acceptable from nbf minus skew until the earlier of the session's own deadline and exp plus skew, as a full validation would judge.
        var exp = expires + _options.ClockSkew;
        var notAfter = session.ExpiresAt < exp ? session.ExpiresAt : exp;
        var validFrom = notBefore == DateTimeOffset.MinValue ? notBefore : notBefore - _options.ClockSkew;
        if (Volatile.Read(ref _validatedCount) >= _validatedCapacity)
        {
            // Bounded memory without bookkeeping on the hit path: start over. The next loads validate in full once more.
            // Racing inserts may overshoot the bound by a few entries; it is a memory bound, not an exact count.
            _validated.Clear();
            Volatile.Write(ref _validatedCount, 0);
        }

        if (_validated.TryAdd(token, new ValidatedToken(session, validFrom, notAfter)))
        {
            Interlocked.Increment(ref _validatedCount);
        }
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

    private static string NewRandomId()
    {
        // Every token needs two ids (sid for a new session, jti always), and one call into the OS CSPRNG costs about a
        // microsecond on a VM. Bytes are drawn from the same CSPRNG 32 ids at a time, per thread, and wiped once used.
        // Buffering is acceptable here and not for server-side session ids: a JWT's ids are not bearer secrets (the
        // signature is), so bytes waiting in memory cannot be turned into a session.
        var buffer = t_idBytes ??= new byte[IdBatchBytes];
        if (t_idOffset == 0 || t_idOffset >= IdBatchBytes)
        {
            RandomNumberGenerator.Fill(buffer);
            t_idOffset = 0;
        }

        var bytes = buffer.AsSpan(t_idOffset, 16);
        t_idOffset += 16;
        var id = Base64Url.EncodeToString(bytes);
        bytes.Clear();
        return id;
    }

    private void CheckPayload(Dictionary<string, ReadOnlyMemory<byte>> values)
    {
        var size = SessionPayload.Size(values);
        try
        {
            SessionPayloadTooLargeException.ThrowIfOver(size, _options.MaxPayloadBytes);
        }
        catch (SessionPayloadTooLargeException e)
        {
            Log.TokenTooLarge(_logger, e.Size, e.Limit, e.LimitName);
            throw;
        }
    }

    private async ValueTask DenyAsync(SessionSnapshot current, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (_denyList is null)
        {
            return;
        }

        // Other tokens of this sid may have been issued up to now; the entry outlives the last of them.
        var idle = current.IdleTimeout > _options.IdleTimeout ? current.IdleTimeout : _options.IdleTimeout;
        var until = now + idle + _options.ClockSkew;
        await _denyList.DenyAsync(current.Id, until < current.AbsoluteExpiresAt + _options.ClockSkew ? until : current.AbsoluteExpiresAt + _options.ClockSkew, cancellationToken).ConfigureAwait(false);
    }


    private sealed record ValidatedToken(SessionSnapshot Session, DateTimeOffset NotBefore, DateTimeOffset NotAfter);
}
