using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.IdentityModel.Tokens;

namespace StateKit.Jwt;

/// <summary>Settings of <see cref="JwtSessionStore"/>.</summary>
public sealed class JwtSessionStoreOptions : SessionStoreOptions
{
    /// <summary>Initializes a new instance of the <see cref="JwtSessionStoreOptions"/> class with token-sized limits.</summary>
    public JwtSessionStoreOptions() => MaxPayloadBytes = JwtDefaults.MaxPayloadBytes;

    /// <summary>Gets or sets the <c>iss</c> claim written into every token and required of every token read.</summary>
    /// <value>The default value is <see langword="null"/>; it must be set.</value>
    public string? Issuer { get; set; }

    /// <summary>Gets or sets the <c>aud</c> claim written into every token and required of every token read.</summary>
    /// <value>The default value is <see langword="null"/>; it must be set.</value>
    public string? Audience { get; set; }

    /// <summary>
    /// Gets the signing key ring. Every key needs a unique <see cref="SecurityKey.KeyId"/>, written as the token's <c>kid</c>.
    /// A <see cref="SymmetricSecurityKey"/> signs HS256, an <see cref="RsaSecurityKey"/> RS256, an <see cref="ECDsaSecurityKey"/> (P-256) ES256.
    /// The key named by <see cref="CurrentSigningKeyId"/> signs; the others only verify, so rotation signs nobody out.
    /// </summary>
    /// <value>The default value is empty; at least one key must be added.</value>
    public IList<SecurityKey> SigningKeys { get; } = new List<SecurityKey>();

    /// <summary>Gets or sets the <c>kid</c> of the key that signs new tokens.</summary>
    /// <value>The default value is <see langword="null"/>: the first key of <see cref="SigningKeys"/>.</value>
    public string? CurrentSigningKeyId { get; set; }

    /// <summary>Gets the algorithms a token may be signed with; any other, and <c>none</c>, is rejected.</summary>
    /// <value>The default value is HS256, RS256 and ES256. Remove those your keys do not use.</value>
    public IList<string> AllowedAlgorithms { get; } = new List<string> { SecurityAlgorithms.HmacSha256, SecurityAlgorithms.RsaSha256, SecurityAlgorithms.EcdsaSha256 };

    /// <summary>Gets or sets how far the nodes' clocks may disagree when <c>nbf</c> and <c>exp</c> are checked.</summary>
    /// <value>The default value is 30 seconds (IdentityModel's own default is 5 minutes).</value>
    public TimeSpan ClockSkew { get; set; } = JwtDefaults.ClockSkew;

    /// <summary>
    /// Gets or sets the longest token, in characters, a commit may produce and a load will try to validate. A longer inbound
    /// token is rejected before it is parsed.
    /// </summary>
    /// <value>The default value is 4000: one cookie or header.</value>
    public int MaxTokenLength { get; set; } = JwtDefaults.MaxTokenLength;

    /// <summary>
    /// Gets or sets the credentials that encrypt tokens (JWE), for state the client must not read. Without them the state is
    /// only signed: anyone holding the token can base64-decode and read every value in it.
    /// </summary>
    /// <value>The default value is <see langword="null"/>: signed, readable tokens.</value>
    public EncryptingCredentials? Encryption { get; set; }

    /// <summary>
    /// Gets or sets how many tokens the store remembers, so that a request presenting a token this store validated or issued
    /// before skips signature and claim validation. A remembered token is still rejected before its <c>nbf</c> and once its
    /// session or its <c>exp</c> has passed (both with <see cref="ClockSkew"/>), and the <see cref="DenyList"/> is still asked
    /// on every load, so revocation is unaffected. Only the exact token string hits, and only in the store instance that
    /// remembered it; any other string is validated in full. The cache is emptied when it is full. 0 turns it off.
    /// </summary>
    /// <value>The default value is 1,000 tokens (bounded memory: at most this many times <see cref="MaxTokenLength"/> characters).</value>
    public int ValidatedTokenCacheSize { get; set; } = JwtDefaults.ValidatedTokenCacheSize;

    /// <summary>Gets or sets a server-side list of revoked <c>sid</c>s; without it a token stays valid until its <c>exp</c>.</summary>
    /// <value>The default value is <see langword="null"/>: no revocation.</value>
    public ISessionDenyList? DenyList { get; set; }

    /// <inheritdoc />
    protected override void CollectValidationErrors(ICollection<string> errors)
    {
        base.CollectValidationErrors(errors);
        if (string.IsNullOrWhiteSpace(Issuer))
        {
            errors.Add("Issuer must be set: it is written as 'iss' and required on every token, e.g. \"https://shop.example\".");
        }

        if (string.IsNullOrWhiteSpace(Audience))
        {
            errors.Add("Audience must be set: it is written as 'aud' and required on every token, e.g. \"shop-session\".");
        }

        if (SigningKeys.Count == 0)
        {
            errors.Add("SigningKeys is empty. Add at least one key with a KeyId, e.g. new SymmetricSecurityKey(32 random bytes) { KeyId = \"k1\" }.");
        }

        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var key in SigningKeys)
        {
            if (key is null)
            {
                errors.Add("SigningKeys must not contain null.");
                continue;
            }

            if (string.IsNullOrEmpty(key.KeyId))
            {
                errors.Add($"Every signing key needs a KeyId (written as 'kid'); a {key.GetType().Name} has none.");
            }
            else if (!ids.Add(key.KeyId))
            {
                errors.Add($"Signing key id '{key.KeyId}' appears more than once. Give every key its own KeyId.");
            }

            var algorithm = AlgorithmFor(key);
            if (algorithm is null)
            {
                errors.Add($"Signing key '{key.KeyId}' is a {key.GetType().Name}: use a SymmetricSecurityKey of at least 32 bytes (HS256), an RsaSecurityKey of at least 2048 bits (RS256) or an ECDsaSecurityKey on P-256 (ES256).");
            }
            else if (!AllowedAlgorithms.Contains(algorithm, StringComparer.Ordinal))
            {
                errors.Add($"Signing key '{key.KeyId}' signs {algorithm}, which AllowedAlgorithms does not list.");
            }
        }

        if (CurrentSigningKeyId is not null && !ids.Contains(CurrentSigningKeyId))
        {
            errors.Add($"CurrentSigningKeyId '{CurrentSigningKeyId}' names no key in SigningKeys.");
        }

        if (AllowedAlgorithms.Count == 0 || AllowedAlgorithms.Any(a => !Supported.Contains(a, StringComparer.Ordinal)))
        {
            errors.Add($"AllowedAlgorithms must list one or more of {string.Join(", ", Supported)} (was: {string.Join(", ", AllowedAlgorithms)}).");
        }

        if (ClockSkew < TimeSpan.Zero || ClockSkew > JwtDefaults.MaxClockSkew)
        {
            errors.Add($"ClockSkew must be between zero and 5 minutes (was {ClockSkew}); 30 seconds covers servers kept in sync by NTP.");
        }

        if (ValidatedTokenCacheSize < 0 || ValidatedTokenCacheSize > JwtDefaults.MaxValidatedTokenCacheSize)
        {
            errors.Add($"ValidatedTokenCacheSize must be between 0 (off) and {JwtDefaults.MaxValidatedTokenCacheSize} (was {ValidatedTokenCacheSize}); 1000 suits most apps.");
        }

        if (MaxTokenLength < 256 || MaxTokenLength > 256 * 1024)
        {
            errors.Add($"MaxTokenLength must be between 256 and 262144 characters (was {MaxTokenLength}). One cookie holds about 4000.");
        }
        else if (Encryption is null && MaxPayloadBytes > 0 && SmallestTokenLength(MaxPayloadBytes) > MaxTokenLength)
        {
            errors.Add(
                $"MaxPayloadBytes ({MaxPayloadBytes}) can never be reached: a session that large makes a token of at least "
                + $"{SmallestTokenLength(MaxPayloadBytes)} characters, over MaxTokenLength ({MaxTokenLength}). Lower MaxPayloadBytes or raise MaxTokenLength.");
        }
    }

    /// <summary>The algorithm a key signs with, or <see langword="null"/> for a key this store does not accept.</summary>
    internal static string? AlgorithmFor(SecurityKey key) => key switch
    {
        SymmetricSecurityKey symmetric when symmetric.Key.Length >= 32 => SecurityAlgorithms.HmacSha256,
        RsaSecurityKey rsa when rsa.KeySize >= 2048 => SecurityAlgorithms.RsaSha256,
        ECDsaSecurityKey ec when ec.ECDsa.KeySize == 256 => SecurityAlgorithms.EcdsaSha256,
        _ => null,
    };

    // The session is base64url'd into the claim, then the claims base64url'd again: 16/9, plus claims and signature.
    internal static int SmallestTokenLength(int payloadBytes) => (int)((payloadBytes + 60L) * 16 / 9) + 200;

    private static readonly string[] Supported = [SecurityAlgorithms.HmacSha256, SecurityAlgorithms.RsaSha256, SecurityAlgorithms.EcdsaSha256];
}
