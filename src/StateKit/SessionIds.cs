using System;
using System.Buffers.Text;
using System.Security.Cryptography;

namespace StateKit;

/// <summary>Mints and recognises the opaque ids that server-side stores hand out as tickets.</summary>
internal static class SessionIds
{
    // 128 bits from the OS CSPRNG: the floor OWASP sets for session ids, and 22 base64url characters on the wire.
    private const int ByteLength = 16;

    public const int Length = 22;

    public static string NewId()
    {
        Span<byte> bytes = stackalloc byte[ByteLength];
        RandomNumberGenerator.Fill(bytes);
        return Base64Url.EncodeToString(bytes);
    }

    /// <summary>
    /// Tells whether a ticket could be an id we minted, so that garbage never reaches a backend as a key.
    /// </summary>
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
