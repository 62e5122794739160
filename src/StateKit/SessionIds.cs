using System;
using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using StateKit.Serialization;

namespace StateKit;

/// <summary>Mints and recognises the opaque ids that server-side stores hand out as tickets. For store authors.</summary>
public static class SessionIds
{
    // 128 bits from the OS CSPRNG: the floor OWASP sets for session ids, and 22 base64url characters on the wire.
    internal const int ByteLength = 16;

    /// <summary>The length of every id <see cref="NewId"/> mints: 16 bytes in unpadded base64url.</summary>
    public const int Length = 22;

    // Domain separation: no other SHA-256 of a session id, in StateKit or in an app, collides with a public id by accident.
    private static ReadOnlySpan<byte> PublicIdLabel => "StateKit public session id v1\0"u8;

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
    /// Derives the public id of a session from the id its store knows it by: a name for logs, traces and admin pages that
    /// is not a credential. The same on every node and in every process, with no key to configure.
    /// </summary>
    /// <remarks>
    /// The first 128 bits of SHA-256 over a StateKit-specific label and the id, as 32 lowercase hex digits, so that it never
    /// looks like (or parses as) a ticket. Ids <see cref="NewId"/> mints carry 128 random bits, which no one can recover from
    /// their hash. See docs/decisions.md, "Public session ids".
    /// </remarks>
    /// <param name="sessionId">The session's id in its store (<see cref="SessionSnapshot.Id"/>, <see cref="StateSession.BearerId"/>).</param>
    /// <returns>The public id.</returns>
    public static string ToPublicId(string sessionId)
    {
        ArgumentNullException.ThrowIfNull(sessionId);
        var length = PublicIdLabel.Length + Encoding.UTF8.GetMaxByteCount(sessionId.Length);
        var rented = length <= 512 ? null : ArrayPool<byte>.Shared.Rent(length);
        Span<byte> input = rented ?? stackalloc byte[512];
        try
        {
            PublicIdLabel.CopyTo(input);
            var written = PublicIdLabel.Length + Encoding.UTF8.GetBytes(sessionId, input[PublicIdLabel.Length..]);
            Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(input[..written], hash);
            return Convert.ToHexStringLower(hash[..ByteLength]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
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
