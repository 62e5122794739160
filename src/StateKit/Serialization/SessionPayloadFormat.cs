using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Text;

namespace StateKit.Serialization;

/// <summary>
/// The versioned binary form of a whole session, used where a store keeps the session as one blob
/// (an IDistributedCache entry, a sealed client-side ticket). Documented byte by byte in docs/formats.md;
/// a change that breaks stored payloads must bump <see cref="CurrentVersion"/> and keep reading the old one.
/// </summary>
internal static class SessionPayloadFormat
{
    public const byte CurrentVersion = 1;

    // Fixed part: format version, then session version, created, last access, absolute expiry (unix ms) and idle (ms).
    private const int FixedSize = 1 + (5 * sizeof(long));

    public static byte[] Write(SessionSnapshot session)
    {
        var buffer = new byte[GetSize(session)];
        Write(session, buffer);
        return buffer;
    }

    /// <summary>The exact number of bytes <see cref="Write(SessionSnapshot, Span{byte})"/> writes.</summary>
    public static int GetSize(SessionSnapshot session)
    {
        var size = FixedSize + StringSize(session.Id) + NullableStringSize(session.UserId) + VarIntSize((ulong)session.Values.Count);
        foreach (var (key, value) in session.Values)
        {
            size += StringSize(key) + VarIntSize((ulong)value.Length) + value.Length;
        }

        return size;
    }

    /// <summary>Writes the payload into <paramref name="buffer"/>, which must hold <see cref="GetSize"/> bytes, so callers can frame it without a copy.</summary>
    public static void Write(SessionSnapshot session, Span<byte> buffer)
    {
        var span = buffer;
        span[0] = CurrentVersion;
        span = span[1..];
        WriteInt64(ref span, session.Version);
        WriteInt64(ref span, session.CreatedAt.ToUnixTimeMilliseconds());
        WriteInt64(ref span, session.LastAccessedAt.ToUnixTimeMilliseconds());
        WriteInt64(ref span, session.AbsoluteExpiresAt.ToUnixTimeMilliseconds());
        WriteInt64(ref span, (long)session.IdleTimeout.TotalMilliseconds);
        WriteString(ref span, session.Id);
        if (session.UserId is null)
        {
            WriteVarInt(ref span, 0);
        }
        else
        {
            WriteVarInt(ref span, (ulong)Encoding.UTF8.GetByteCount(session.UserId) + 1);
            span = span[Encoding.UTF8.GetBytes(session.UserId, span)..];
        }

        WriteVarInt(ref span, (ulong)session.Values.Count);
        foreach (var (key, value) in session.Values)
        {
            WriteString(ref span, key);
            WriteVarInt(ref span, (ulong)value.Length);
            value.Span.CopyTo(span);
            span = span[value.Length..];
        }
    }

    /// <summary>Reads a payload; any malformation (truncation, bad lengths, unknown version, bad UTF-8) returns <see langword="false"/>.</summary>
    public static bool TryRead(ReadOnlySpan<byte> data, out SessionSnapshot? session)
    {
        session = null;
        try
        {
            if (data.Length < FixedSize || data[0] != CurrentVersion)
            {
                return false;
            }

            data = data[1..];
            if (!TryReadInt64(ref data, out var version)
                || !TryReadInt64(ref data, out var created)
                || !TryReadInt64(ref data, out var lastAccess)
                || !TryReadInt64(ref data, out var absolute)
                || !TryReadInt64(ref data, out var idleMs)
                || !TryReadString(ref data, out var id)
                || id.Length == 0
                || !TryReadVarInt(ref data, out var userLength))
            {
                return false;
            }

            string? userId = null;
            if (userLength > 0)
            {
                if (userLength - 1 > (ulong)data.Length)
                {
                    return false;
                }

                userId = Strict.GetString(data[..(int)(userLength - 1)]);
                data = data[(int)(userLength - 1)..];
            }

            // Each entry takes at least two bytes, so a count larger than that is a lie we refuse before allocating.
            if (!TryReadVarInt(ref data, out var count) || count > (ulong)data.Length / 2)
            {
                return false;
            }

            var values = new Dictionary<string, ReadOnlyMemory<byte>>((int)count, StringComparer.Ordinal);
            for (ulong i = 0; i < count; i++)
            {
                if (!TryReadString(ref data, out var key) || !TryReadVarInt(ref data, out var length) || length > (ulong)data.Length)
                {
                    return false;
                }

                if (!values.TryAdd(key, data[..(int)length].ToArray()))
                {
                    return false;
                }

                data = data[(int)length..];
            }

            if (!data.IsEmpty)
            {
                return false;
            }

            session = new SessionSnapshot(id, version, values)
            {
                CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(created),
                LastAccessedAt = DateTimeOffset.FromUnixTimeMilliseconds(lastAccess),
                AbsoluteExpiresAt = DateTimeOffset.FromUnixTimeMilliseconds(absolute),
                IdleTimeout = TimeSpan.FromMilliseconds(idleMs),
                UserId = userId,
            };
            return true;
        }
        catch (Exception e) when (e is DecoderFallbackException or ArgumentOutOfRangeException or OverflowException)
        {
            // Out-of-range timestamps and invalid UTF-8: malformed, like any other.
            return false;
        }
    }

    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static int StringSize(string value)
    {
        var length = Encoding.UTF8.GetByteCount(value);
        return VarIntSize((ulong)length) + length;
    }

    private static int NullableStringSize(string? value)
    {
        if (value is null)
        {
            return 1;
        }

        var length = Encoding.UTF8.GetByteCount(value);
        return VarIntSize((ulong)length + 1) + length;
    }

    internal static int VarIntSize(ulong value)
    {
        var size = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            size++;
        }

        return size;
    }

    private static void WriteInt64(ref Span<byte> span, long value)
    {
        BinaryPrimitives.WriteInt64LittleEndian(span, value);
        span = span[sizeof(long)..];
    }

    private static void WriteVarInt(ref Span<byte> span, ulong value)
    {
        var i = 0;
        while (value >= 0x80)
        {
            span[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        span[i++] = (byte)value;
        span = span[i..];
    }

    private static void WriteString(ref Span<byte> span, string value)
    {
        WriteVarInt(ref span, (ulong)Encoding.UTF8.GetByteCount(value));
        span = span[Encoding.UTF8.GetBytes(value, span)..];
    }

    private static bool TryReadInt64(ref ReadOnlySpan<byte> span, out long value)
    {
        if (!BinaryPrimitives.TryReadInt64LittleEndian(span, out value))
        {
            return false;
        }

        span = span[sizeof(long)..];
        return true;
    }

    private static bool TryReadVarInt(ref ReadOnlySpan<byte> span, out ulong value)
    {
        value = 0;
        for (var i = 0; i < 10 && i < span.Length; i++)
        {
            var b = span[i];
            value |= (ulong)(b & 0x7F) << (7 * i);
            if (b < 0x80)
            {
                span = span[(i + 1)..];
                return true;
            }
        }

        return false;
    }

    private static bool TryReadString(ref ReadOnlySpan<byte> span, out string value)
    {
        value = string.Empty;
        if (!TryReadVarInt(ref span, out var length) || length > (ulong)span.Length)
        {
            return false;
        }

        value = Strict.GetString(span[..(int)length]);
        span = span[(int)length..];
        return true;
    }
}
