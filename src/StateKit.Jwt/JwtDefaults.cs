using System;

namespace StateKit.Jwt;

/// <summary>The defaults of every JWT store option, in one place.</summary>
internal static class JwtDefaults
{
    // Well under IdentityModel's 5 minutes: our own nodes issue these tokens, so only their clock drift needs covering.
    public static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(30);

    public static readonly TimeSpan MaxClockSkew = TimeSpan.FromMinutes(5);

    // One cookie or one header, far below IdentityModel's 250 KB default.
    public const int MaxTokenLength = 4000;

    // A JWT encodes the session twice in base64url (claim, then payload segment): 2048 bytes take about 3,700 characters.
    public const int MaxPayloadBytes = 1536;

    public const string StateClaim = "stk";

    // Validated tokens remembered per store. A token is at most MaxTokenLength characters: 1,000 of typical ~1 KB tokens
    // cost about 2-3 MB, and a request presenting its unchanged token skips signature and claim validation.
    public const int ValidatedTokenCacheSize = 1000;

    public const int MaxValidatedTokenCacheSize = 1_000_000;
}
