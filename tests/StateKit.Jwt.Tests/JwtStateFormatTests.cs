using System;
using System.Buffers.Text;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;

namespace StateKit.Jwt.Tests;

/// <summary>
/// The <c>stk</c> layout is what BinaryWriter wrote in the first release; tokens in browsers depend on it. The span-based
/// writer and reader must agree with BinaryWriter and BinaryReader byte for byte, multi-byte lengths and non-ASCII included.
/// </summary>
public sealed class JwtStateFormatTests
{
    public static TheoryData<string?, int> Shapes() => new()
    {
        { null, 0 },
        { "ana", 1 },
        { "ñandú-用户", 3 },
        { new string('u', 200), 130 },
        { null, 20_000 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void WriteClaim_MatchesTheBinaryWriterLayout_AndReadsBack(string? userId, int valueBytes)
    {
        var session = Session(userId, valueBytes);

        var claim = JwtStateFormat.WriteClaim(session);

        Assert.Equal(Base64Url.EncodeToString(Reference(session)), claim);
        Assert.True(JwtStateFormat.TryReadClaim(session.Id, claim, out var read));
        Assert.Equal(session.Version, read!.Version);
        Assert.Equal(session.UserId, read.UserId);
        Assert.Equal(session.CreatedAt, read.CreatedAt);
        Assert.Equal(session.LastAccessedAt, read.LastAccessedAt);
        Assert.Equal(session.AbsoluteExpiresAt, read.AbsoluteExpiresAt);
        Assert.Equal(session.IdleTimeout, read.IdleTimeout);
        Assert.Equal(session.Values.Keys.Order(), read.Values.Keys.Order());
        foreach (var (key, value) in session.Values)
        {
            Assert.Equal(value.ToArray(), read.Values[key].ToArray());
        }
    }

    [Fact]
    public void TryReadClaim_EveryTruncationOrTrailingByte_IsRejected()
    {
        var bytes = Reference(Session("ñandú", 300));

        for (var length = 0; length < bytes.Length; length++)
        {
            Assert.False(JwtStateFormat.TryReadClaim("s", Base64Url.EncodeToString(bytes.AsSpan(0, length)), out _));
        }

        Assert.False(JwtStateFormat.TryReadClaim("s", Base64Url.EncodeToString([.. bytes, 0]), out _));
    }

    [Fact]
    public void TryReadClaim_InvalidUtf8KeyOrOverlongLength_IsRejected()
    {
        var session = Session(null, 1);
        var bytes = Reference(session);
        var key = Encoding.UTF8.GetBytes(session.Values.Keys.First());
        var at = bytes.AsSpan().IndexOf(key);
        var badUtf8 = (byte[])bytes.Clone();
        badUtf8[at] = 0xFF;
        var overlong = (byte[])bytes.Clone();
        overlong[at - 1] = 0xFF;

        Assert.False(JwtStateFormat.TryReadClaim("s", Base64Url.EncodeToString(badUtf8), out _));
        Assert.False(JwtStateFormat.TryReadClaim("s", Base64Url.EncodeToString(overlong), out _));
    }

    private static SessionSnapshot Session(string? userId, int valueBytes)
    {
        var values = new Dictionary<string, ReadOnlyMemory<byte>>(StringComparer.Ordinal);
        for (var i = 0; i < Math.Min(valueBytes, 3); i++)
        {
            values["k" + i + (i == 2 ? "é" : string.Empty)] = Enumerable.Range(0, valueBytes).Select(b => (byte)(b * 7 + i)).ToArray();
        }

        var at = new DateTimeOffset(2026, 11, 26, 12, 0, 0, 123, TimeSpan.Zero);
        return new SessionSnapshot("s", 42, values)
        {
            CreatedAt = at,
            LastAccessedAt = at.AddSeconds(5),
            AbsoluteExpiresAt = at.AddHours(8),
            IdleTimeout = TimeSpan.FromMinutes(20),
            UserId = userId,
        };
    }

    // The first release's writer, kept here as the definition of the layout.
    private static byte[] Reference(SessionSnapshot session)
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, new UTF8Encoding(false, true), leaveOpen: true))
        {
            writer.Write((byte)1);
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
}
