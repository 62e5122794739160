using System;
using System.Buffers.Text;
using System.Security.Cryptography;
using StateKit.Serialization;

namespace StateKit;

/// <summary>Mints and recognises the opaque ids that server-side stores hand out as tickets. For store authors.</summary>
public static class SessionIds
{
    // 128 bits from the OS CSPRNG: the floor OWASP sets for session ids, and 22 base64url characters on the wire.
    internal const int ByteLength = 16;

    /// <summary>The length of every id <see cref="NewId"/> mints: 16 bytes in unpadded base64url.</summary>
    public const int Length = 22;

    /// <summary>Mints a session id: 128 bits from the operating system's CSPRNG, base64url without padding.</summary>
    /// <returns>The id.</returns>
    public static string NewId()
    {
        Span<byte> bytes = stackalloc byte[ByteLength];
        RandomNumberGenerator.Fill(bytes);
        return FromBytes(bytes);
    }

    /// <summary>The id of <see cref="ByteLength"/> bytes the caller drew from the OS CSPRNG itself.</summary>
    internal static string FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != ByteLength)
        {
            throw new ArgumentException($"A session id is {ByteLength} random bytes.", nameof(bytes));
        }

        return Base64Url.EncodeToString(bytes);
    }

    /// <summary>
    /// Tells whether a ticket could be an id <see cref="NewId"/> minted, so that garbage never reaches a backend as a key.
    /// </summary>
    /// <param name="ticket">The ticket a client presented.</param>
    /// <returns><see langword="true"/> when it has an id's length and alphabet.</returns>
    public static bool IsWellFormed(string? ticket)
    {
        return ticket is not null && ticket.Length == Length && !ticket.AsSpan().ContainsAnyExcept(Base64UrlText.Alphabet);
    }
}
