namespace StateKit.ClientSide;

/// <summary>How a <see cref="ClientSideSessionStore"/> compresses a session before sealing it.</summary>
/// <remarks>
/// Compression before encryption lets the ticket's length vary with its content. Where an attacker can put chosen data in a
/// session next to a secret and watch the ticket's length, that leaks the secret a guess at a time (as CRIME and BREACH did).
/// Leave it off for sessions that hold secrets; turn it on for bulky, non-secret state.
/// </remarks>
public enum ClientSideCompression
{
    /// <summary>Never compress.</summary>
    None = 0,

    /// <summary>Raw Deflate (RFC 1951) above the threshold: fast and everywhere.</summary>
    Deflate = 1,

    /// <summary>Brotli above the threshold: smaller tickets, more CPU per commit.</summary>
    Brotli = 2,
}
