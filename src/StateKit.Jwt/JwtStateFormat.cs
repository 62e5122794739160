using System;
using System.Buffers;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace StateKit.Jwt;

/// <summary>
/// The session inside the <c>stk</c> claim, version 1 (docs/client-held.md): base64url of
/// <c>0x01 | version | created | last access | absolute expiry | idle (int64 LE, ms) | user id | count | (key, value)*</c>,
/// where strings and byte strings are 7-bit-length-prefixed. The session id is the <c>sid</c> claim, not repeated here.
/// </summary>
/// <remarks>Written here rather than shared with the core's internal payload format: packages see each other's public API only.</remarks>
internal static class JwtStateFormat
{
    public const byte CurrentVersion = 1;
    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static byte[] Write(SessionSnapshot session)
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, Strict, leaveOpen: true))
        {
            writer.Write(CurrentVersion);
            writer.Write(session.Version);
            writer.Write(session.CreatedAt.ToUnixTimeMilliseconds());
            writer.Write(session.LastAccessedAt.ToUnixTimeMilliseconds());
            writer.Write(session.AbsoluteExpiresAt.ToUnixTimeMilliseconds());
            writer.Write((long)session.IdleTimeout.TotalMilliseconds);
            writer.Write(session.UserId is not null);
            if (session.UserId is not null)
            {
                writer.Write(session.UserId);
            }

            writer.Write7BitEncodedInt(session.Values.Count);
            foreach (var (key, value) in session.Values)
            {
                writer.Write(key);
                writer.Write7BitEncodedInt(value.Length);
                writer.Write(value.Span);
            }
        }

        return stream.ToArray();
    }

    public static bool TryRead(string sessionId, ReadOnlySpan<byte> data, out SessionSnapshot? session)
    {
        session = null;
        try
        {
            using var stream = new MemoryStream(data.ToArray(), writable: false);
            using var reader = new BinaryReader(stream, Strict);
            if (reader.ReadByte() != CurrentVersion)
            {
                return false;
            }

            var version = reader.ReadInt64();
            var created = reader.ReadInt64();
            var lastAccess = reader.ReadInt64();
            var absolute = reader.ReadInt64();
            var idle = reader.ReadInt64();
            var userId = reader.ReadBoolean() ? reader.ReadString() : null;
            var count = reader.Read7BitEncodedInt();
            if (count < 0 || count > data.Length)
            {
                return false;
            }

            var values = new Dictionary<string, ReadOnlyMemory<byte>>(count, StringComparer.Ordinal);
            for (var i = 0; i < count; i++)
            {
                var key = reader.ReadString();
                var length = reader.Read7BitEncodedInt();
                if (length < 0 || length > stream.Length - stream.Position || !values.TryAdd(key, reader.ReadBytes(length)))
                {
                    return false;
                }
            }

            if (stream.Position != stream.Length)
            {
                return false;
            }

            session = new SessionSnapshot(sessionId, version, values)
            {
                CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(created),
                LastAccessedAt = DateTimeOffset.FromUnixTimeMilliseconds(lastAccess),
                AbsoluteExpiresAt = DateTimeOffset.FromUnixTimeMilliseconds(absolute),
                IdleTimeout = TimeSpan.FromMilliseconds(idle),
                UserId = userId,
            };
            return true;
        }
        catch (Exception e) when (e is EndOfStreamException or FormatException or IOException or ArgumentException or OverflowException or DecoderFallbackException)
        {
            return false;
        }
    }

    private static readonly SearchValues<char> Base64UrlAlphabet = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

    /// <summary>Accepts only what our encoder emits: the base64url alphabet, no padding, zero unused trailing bits.</summary>
    public static bool IsCanonicalBase64Url(ReadOnlySpan<char> text)
    {
        // One vectorized scan for the alphabet; only the last character's unused bits need a look of their own.
        if (text.Length % 4 == 1 || text.ContainsAnyExcept(Base64UrlAlphabet))
        {
            return false;
        }

        if (text.IsEmpty)
        {
            return true;
        }

        var c = text[^1];
        var last = c switch
        {
            >= 'A' and <= 'Z' => c - 'A',
            >= 'a' and <= 'z' => c - 'a' + 26,
            >= '0' and <= '9' => c - '0' + 52,
            '-' => 62,
            _ => 63,
        };

        return (text.Length % 4) switch
        {
            2 => (last & 0x0F) == 0,
            3 => (last & 0x03) == 0,
            _ => true,
        };
    }
}
