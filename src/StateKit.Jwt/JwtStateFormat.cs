using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Buffers.Text;
using System.Collections.Generic;
using System.Text;
using StateKit.Serialization;

namespace StateKit.Jwt;

/// <summary>
/// The session inside the <c>stk</c> claim, version 1 (docs/client-held.md): base64url of
/// <c>0x01 | version | created | last access | absolute expiry | idle (int64 LE, ms) | user id | count | (key, value)*</c>,
/// where strings and byte strings are 7-bit-length-prefixed. The session id is the <c>sid</c> claim, not repeated here.
/// </summary>
/// <remarks>
/// Written here rather than shared with the core's internal payload format: packages see each other's public API only.
/// The layout is what <see cref="System.IO.BinaryWriter"/> wrote in the first release (tokens in browsers depend on it);
/// it is written and read over spans because the stream, writer and encoder objects cost as much as the encoding.
/// </remarks>
internal static class JwtStateFormat
{
    public const byte CurrentVersion = 1;
    private const int FixedBytes = 1 + (5 * sizeof(long)) + 1;
    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Encodes the session as the base64url text of the <c>stk</c> claim.</summary>
    public static string WriteClaim(SessionSnapshot session)
    {
        var size = FixedBytes + SevenBitSize(session.Values.Count);
        if (session.UserId is not null)
        {
            size += PrefixedSize(Strict.GetByteCount(session.UserId));
        }

        foreach (var (key, value) in session.Values)
        {
            size += PrefixedSize(Strict.GetByteCount(key)) + PrefixedSize(value.Length);
        }

        var rented = ArrayPool<byte>.Shared.Rent(size);
        try
        {
            var buffer = rented.AsSpan(0, size);
            var at = 0;
            buffer[at++] = CurrentVersion;
            WriteInt64(buffer, ref at, session.Version);
            WriteInt64(buffer, ref at, session.CreatedAt.ToUnixTimeMilliseconds());
            WriteInt64(buffer, ref at, session.LastAccessedAt.ToUnixTimeMilliseconds());
            WriteInt64(buffer, ref at, session.AbsoluteExpiresAt.ToUnixTimeMilliseconds());
            WriteInt64(buffer, ref at, (long)session.IdleTimeout.TotalMilliseconds);
            buffer[at++] = session.UserId is null ? (byte)0 : (byte)1;
            if (session.UserId is not null)
            {
                WriteString(buffer, ref at, session.UserId);
            }

            Write7BitEncodedInt(buffer, ref at, session.Values.Count);
            foreach (var (key, value) in session.Values)
            {
                WriteString(buffer, ref at, key);
                Write7BitEncodedInt(buffer, ref at, value.Length);
                value.Span.CopyTo(buffer[at..]);
                at += value.Length;
            }

            return Base64Url.EncodeToString(buffer[..at]);
        }
        finally
        {
            // Session values may be secrets even when the token is readable: do not leave them in a shared pool.
            rented.AsSpan(0, size).Clear();
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// Decodes the <c>stk</c> claim: canonical base64url only, then the layout with nothing left over. Values are slices of
    /// one array the session owns.
    /// </summary>
    public static bool TryReadClaim(string sessionId, ReadOnlySpan<char> claim, out SessionSnapshot? session)
    {
        session = null;
        if (!Base64UrlText.IsCanonical(claim))
        {
            return false;
        }

        var data = new byte[Base64Url.GetMaxDecodedLength(claim.Length)];
        if (Base64Url.DecodeFromChars(claim, data, out _, out var written) != OperationStatus.Done)
        {
            return false;
        }

        return TryRead(sessionId, data.AsMemory(0, written), out session);
    }

    /// <summary>Reads the binary layout; values are slices of <paramref name="data"/>, which the session keeps.</summary>
    public static bool TryRead(string sessionId, ReadOnlyMemory<byte> data, out SessionSnapshot? session)
    {
        session = null;
        try
        {
            var span = data.Span;
            if (span.Length < FixedBytes || span[0] != CurrentVersion)
            {
                return false;
            }

            var at = 1;
            var version = ReadInt64(span, ref at);
            var created = ReadInt64(span, ref at);
            var lastAccess = ReadInt64(span, ref at);
            var absolute = ReadInt64(span, ref at);
            var idle = ReadInt64(span, ref at);

            // BinaryReader.ReadBoolean, which read the first tokens, takes any non-zero byte as true.
            var userId = span[at++] != 0 ? ReadString(span, ref at) : null;
            var count = Read7BitEncodedInt(span, ref at);
            if (count < 0 || count > span.Length)
            {
                return false;
            }

            var values = new Dictionary<string, ReadOnlyMemory<byte>>(count, StringComparer.Ordinal);
            for (var i = 0; i < count; i++)
            {
                var key = ReadString(span, ref at);
                var length = Read7BitEncodedInt(span, ref at);
                if (length < 0 || length > span.Length - at || !values.TryAdd(key, data.Slice(at, length)))
                {
                    return false;
                }

                at += length;
            }

            if (at != span.Length)
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
        catch (Exception e) when (e is FormatException or ArgumentException or OverflowException or DecoderFallbackException or IndexOutOfRangeException)
        {
            return false;
        }
    }

    /// <summary>
    /// The session exactly as <see cref="TryRead"/> reads it back from its claim: times in whole milliseconds. The store
    /// remembers the tokens it issues in this form, so a load answers the same whether it validated the token or not.
    /// </summary>
    public static SessionSnapshot AsRead(SessionSnapshot session) => new(session.Id, session.Version, session.Values)
    {
        CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(session.CreatedAt.ToUnixTimeMilliseconds()),
        LastAccessedAt = DateTimeOffset.FromUnixTimeMilliseconds(session.LastAccessedAt.ToUnixTimeMilliseconds()),
        AbsoluteExpiresAt = DateTimeOffset.FromUnixTimeMilliseconds(session.AbsoluteExpiresAt.ToUnixTimeMilliseconds()),
        IdleTimeout = TimeSpan.FromMilliseconds((long)session.IdleTimeout.TotalMilliseconds),
        UserId = session.UserId,
    };

    private static int SevenBitSize(int value) => value < 0 ? 5 : (32 - int.LeadingZeroCount(value | 1) + 6) / 7;

    private static int PrefixedSize(int length) => SevenBitSize(length) + length;

    private static void WriteInt64(Span<byte> buffer, ref int at, long value)
    {
        BinaryPrimitives.WriteInt64LittleEndian(buffer[at..], value);
        at += sizeof(long);
    }

    private static void WriteString(Span<byte> buffer, ref int at, string value)
    {
        var length = Strict.GetByteCount(value);
        Write7BitEncodedInt(buffer, ref at, length);
        at += Strict.GetBytes(value, buffer[at..]);
    }

    // As BinaryWriter.Write7BitEncodedInt: 7 bits a byte, low first, the high bit says "more"; negatives take 5 bytes.
    private static void Write7BitEncodedInt(Span<byte> buffer, ref int at, int value)
    {
        var rest = (uint)value;
        while (rest > 0x7Fu)
        {
            buffer[at++] = (byte)(rest | ~0x7Fu);
            rest >>= 7;
        }

        buffer[at++] = (byte)rest;
    }

    private static long ReadInt64(ReadOnlySpan<byte> span, ref int at)
    {
        var value = BinaryPrimitives.ReadInt64LittleEndian(span[at..]);
        at += sizeof(long);
        return value;
    }

    private static string ReadString(ReadOnlySpan<byte> span, ref int at)
    {
        var length = Read7BitEncodedInt(span, ref at);
        if (length < 0 || length > span.Length - at)
        {
            throw new FormatException("String length out of range.");
        }

        var value = Strict.GetString(span.Slice(at, length));
        at += length;
        return value;
    }

    // As BinaryReader.Read7BitEncodedInt: at most 5 bytes, and the fifth may carry only the top 4 bits.
    private static int Read7BitEncodedInt(ReadOnlySpan<byte> span, ref int at)
    {
        uint result = 0;
        for (var shift = 0; shift < 28; shift += 7)
        {
            var b = span[at++];
            result |= (b & 0x7Fu) << shift;
            if (b <= 0x7Fu)
            {
                return (int)result;
            }
        }

        var last = span[at++];
        if (last > 0b_1111u)
        {
            throw new FormatException("Bad 7-bit encoded int.");
        }

        return (int)(result | ((uint)last << 28));
    }
}
