using System;
using System.Collections.Generic;
using StateKit.Serialization;

namespace StateKit.Tests.Serialization;

public sealed class SessionPayloadFormatTests
{
    // Version 1 of the blob, byte for byte (docs/formats.md). Stored sessions outlive deploys: if this
    // test fails, the change breaks every stored session. Bump the format version and keep reading v1 instead.
    private const string Version1Snapshot =
        "01"                                                  // format version
        + "0700000000000000"                                  // session version 7, int64 LE
        + "0014330c9c010000"                                  // created, unix ms
        + "60fe330c9c010000"                                  // last access, unix ms
        + "0042c60e9c010000"                                  // absolute expiry, unix ms
        + "804f120000000000"                                  // idle timeout, ms (20 min)
        + "16" + "41414141414141414141414141414141414141414141" // id: varint 22, UTF-8
        + "04" + "616e61"                                     // user id: varint 3 + 1, UTF-8 "ana"
        + "02"                                                // two entries
        + "04" + "63617274" + "07" + "7b2278223a317d"         // "cart" = {"x":1}
        + "01" + "6e" + "01" + "ff";                          // "n" = 0xff

    [Fact]
    public void Write_KnownSession_MatchesTheVersion1Snapshot()
    {
        var bytes = SessionPayloadFormat.Write(KnownSession());

        Assert.Equal(Version1Snapshot, Convert.ToHexStringLower(bytes));
    }

    [Fact]
    public void TryRead_Version1Snapshot_RestoresEveryField()
    {
        Assert.True(SessionPayloadFormat.TryRead(Convert.FromHexString(Version1Snapshot), out var read));

        var known = KnownSession();
        Assert.Equal(known.Id, read!.Id);
        Assert.Equal(known.Version, read.Version);
        Assert.Equal(known.CreatedAt, read.CreatedAt);
        Assert.Equal(known.LastAccessedAt, read.LastAccessedAt);
        Assert.Equal(known.AbsoluteExpiresAt, read.AbsoluteExpiresAt);
        Assert.Equal(known.IdleTimeout, read.IdleTimeout);
        Assert.Equal("ana", read.UserId);
        Assert.Equal("{\"x\":1}"u8.ToArray(), read.Values["cart"].ToArray());
        Assert.Equal(new byte[] { 0xff }, read.Values["n"].ToArray());
    }

    [Fact]
    public void TryRead_EveryTruncation_IsRejected()
    {
        var bytes = SessionPayloadFormat.Write(KnownSession());
        for (var length = 0; length < bytes.Length; length++)
        {
            Assert.False(SessionPayloadFormat.TryRead(bytes.AsSpan(0, length), out _), $"a payload cut to {length} bytes was accepted");
        }
    }

    [Fact]
    public void TryRead_TrailingBytesOrUnknownVersion_IsRejected()
    {
        var bytes = SessionPayloadFormat.Write(KnownSession());

        Assert.False(SessionPayloadFormat.TryRead([.. bytes, 0], out _));
        bytes[0] = 2;
        Assert.False(SessionPayloadFormat.TryRead(bytes, out _));
    }

    [Fact]
    public void TryRead_RandomBytes_NeverThrows()
    {
        var random = new Random(1234);
        var buffer = new byte[200];
        for (var i = 0; i < 5_000; i++)
        {
            random.NextBytes(buffer);
            buffer[0] = SessionPayloadFormat.CurrentVersion;
            _ = SessionPayloadFormat.TryRead(buffer.AsSpan(0, random.Next(buffer.Length)), out _);
        }
    }

    private static SessionSnapshot KnownSession()
    {
        var created = new DateTimeOffset(2026, 1, 30, 0, 0, 0, TimeSpan.Zero);
        return new SessionSnapshot(
            new string('A', 22),
            7,
            new Dictionary<string, ReadOnlyMemory<byte>> { ["cart"] = "{\"x\":1}"u8.ToArray(), ["n"] = new byte[] { 0xff } })
        {
            CreatedAt = created,
            LastAccessedAt = created + TimeSpan.FromMinutes(1),
            AbsoluteExpiresAt = created + TimeSpan.FromHours(12),
            IdleTimeout = TimeSpan.FromMinutes(20),
            UserId = "ana",
        };
    }
}
