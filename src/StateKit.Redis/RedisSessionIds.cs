using System;
using System.Buffers.Text;
using System.Security.Cryptography;

namespace StateKit.Redis;

/// <summary>
/// Mints and recognises Redis session ids: 128 bits from the OS CSPRNG, base64url without padding (22 characters).
/// The same shape as the core stores' ids, minted here so that the package needs no internals of the core.
/// </summary>
internal static class RedisSessionIds
{
    private const int ByteLength = 16;

    public const int Length = 22;

    public static string NewId()
    {
        Span<byte> bytes = stackalloc byte[ByteLength];
        RandomNumberGenerator.Fill(bytes);
        return Base64Url.EncodeToString(bytes);
    }

    /// <summary>Tells whether a ticket could be an id we minted, so that garbage never reaches Redis as a key.</summary>
    public static bool IsWellFormed(string? ticket)
    {
        if (ticket is null || ticket.Length != Length)
        {
            return false;
        }

        foreach (var c in ticket)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '-' || c == '_'))
            {
                return false;
            }
        }

        return true;
    }
}
