using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Buffers.Text;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Tasks;
using Microsoft.Extensions.Time.Testing;
using StateKit.ClientSide;
using StateKit.Serialization;

namespace StateKit.Tests.ClientSide;

/// <summary>
/// The seal and open paths at the sizes where a buffer or an encoding changes shape, checked against a ticket built and
/// opened by hand from docs/client-held.md, and the pooled buffers they use.
/// </summary>
public sealed class ClientSideSealPathTests
{
    private const string Purpose = "tests/seal-path";
    private static readonly byte[] FixedNonce = Enumerable.Range(100, 12).Select(i => (byte)i).ToArray();
    private static readonly byte[] FixedSalt = Enumerable.Range(200, 16).Select(i => (byte)i).ToArray();

    // Value lengths around every base64 remainder and around the pool's 1, 2 and 4 KiB buckets (the framing is ~90 bytes).
    public static TheoryData<int> Sizes => new() { 0, 1, 2, 3, 4, 5, 100, 933, 934, 935, 936, 937, 1019, 1024, 1957, 1958, 1959, 1960, 2048, 4005, 4006, 4007, 4096 };

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Seal_Uncompressed_IsByteForByteTheDocumentedFormat(int valueLength)
    {
        var session = Session(valueLength);

        var ticket = Store().Seal(session);

        Assert.Equal(SealByHand(SessionPayloadFormat.Write(session)), ticket);
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void SealThenOpen_EverySize_RestoresTheWholeSession(int valueLength)
    {
        var store = Store();
        var session = Session(valueLength);

        var opened = store.Open(store.Seal(session), Now);

        AssertSame(session, opened);
    }

    [Theory]
    [InlineData(ClientSideCompression.Deflate, 0)]
    [InlineData(ClientSideCompression.Deflate, 1)]
    [InlineData(ClientSideCompression.Deflate, 1024)]
    [InlineData(ClientSideCompression.Deflate, 4000)]
    [InlineData(ClientSideCompression.Brotli, 0)]
    [InlineData(ClientSideCompression.Brotli, 1024)]
    [InlineData(ClientSideCompression.Brotli, 4000)]
    public void Seal_Compressible_CompressesAboveTheThresholdOnlyAndRoundTrips(ClientSideCompression compression, int valueLength)
    {
        var session = Session(valueLength, compressible: true);
        var payload = SessionPayloadFormat.Write(session);

        // Threshold just above the payload: stored raw, byte for byte the uncompressed format.
        var below = Store(compression, threshold: payload.Length + 1);
        Assert.Equal(SealByHand(payload), below.Seal(session));
        AssertSame(session, below.Open(below.Seal(session), Now));

        // Threshold at the payload: compressed when that is shorter.
        var at = Store(compression, threshold: payload.Length);
        var ticket = at.Seal(session);
        var body = OpenByHand(ticket);
        if (valueLength >= 1024)
        {
            Assert.Equal(compression == ClientSideCompression.Brotli ? 2 : 1, body[0]);
            Assert.Equal(payload, Decompress(body));
        }
        else
        {
            Assert.Equal(payload, Decompress(body));
        }

        AssertSame(session, at.Open(ticket, Now));
    }

    [Theory]
    [InlineData(ClientSideCompression.Deflate)]
    [InlineData(ClientSideCompression.Brotli)]
    public void Seal_IncompressibleAboveTheThreshold_StoresTheRawPayload(ClientSideCompression compression)
    {
        var session = Session(1500);
        var store = Store(compression, threshold: 0);

        var ticket = store.Seal(session);

        Assert.Equal(SealByHand(SessionPayloadFormat.Write(session)), ticket);
        AssertSame(session, store.Open(ticket, Now));
    }

    [Fact]
    public void Seal_TicketExactlyAtMaxTicketLength_SealsAndOneCharacterLess_ThrowsBeforeAnything()
    {
        var session = Session(937);
        var length = SealByHand(SessionPayloadFormat.Write(session)).Length;

        var fits = Store(maxTicketLength: length).Seal(session);
        var error = Assert.Throws<SessionPayloadTooLargeException>(() => Store(maxTicketLength: length - 1).Seal(session));

        Assert.Equal(length, fits.Length);
        Assert.Equal("MaxTicketLength", error.LimitName);
        Assert.Equal(length, error.Size);
        Assert.Equal(length - 1, error.Limit);
    }

    [Theory]
    [InlineData(500)]
    [InlineData(1019)]
    [InlineData(3000)]
    public void SealAndOpen_LeaveNoPlaintextInThePooledBuffer(int valueLength)
    {
        var store = Store();
        var session = Session(valueLength, compressible: true);
        var marker = session.Values["value"].ToArray()[..64];
        var ticket = store.Seal(session);
        var bufferLength = Base64Url.GetMaxDecodedLength(ticket.Length);

        // The shared pool hands a thread back the array it last returned of that size: prime it with a known array,
        // let the store rent and return it, then take it back and look inside.
        var primed = ArrayPool<byte>.Shared.Rent(bufferLength);
        Array.Clear(primed);
        ArrayPool<byte>.Shared.Return(primed);
        ticket = store.Seal(session);
        var afterSeal = ArrayPool<byte>.Shared.Rent(bufferLength);
        Assert.Same(primed, afterSeal);
        Assert.Equal(-1, afterSeal.AsSpan().IndexOf(marker));
        Assert.Equal(-1, afterSeal.AsSpan().IndexOf(SessionPayloadFormat.Write(session).AsSpan(0, 40)));
        ArrayPool<byte>.Shared.Return(afterSeal);

        Assert.NotNull(store.Open(ticket, Now));
        var afterOpen = ArrayPool<byte>.Shared.Rent(bufferLength);
        Assert.Same(primed, afterOpen);
        Assert.Equal(-1, afterOpen.AsSpan().IndexOf(marker));

        // What is left is the header and the tag; everything between them was the plaintext and is zero now.
        Assert.True(afterOpen.AsSpan(ClientSideTicketFormat.HeaderSize, bufferLength - ClientSideTicketFormat.Overhead).IndexOfAnyExcept((byte)0) < 0);
        ArrayPool<byte>.Shared.Return(afterOpen);
    }

    [Fact]
    public void Open_ForgedTicket_LeavesNoPlaintextInThePooledBuffer()
    {
        var store = Store();
        var session = Session(1019, compressible: true);
        var bytes = Base64Url.DecodeFromChars(store.Seal(session));
        bytes[^1] ^= 1;
        var forged = Base64Url.EncodeToString(bytes);
        var primed = ArrayPool<byte>.Shared.Rent(bytes.Length);
        ArrayPool<byte>.Shared.Return(primed);

        Assert.Null(store.Open(forged, Now));

        var after = ArrayPool<byte>.Shared.Rent(bytes.Length);
        Assert.Same(primed, after);
        Assert.True(after.AsSpan(ClientSideTicketFormat.HeaderSize, bytes.Length - ClientSideTicketFormat.Overhead).IndexOfAnyExcept((byte)0) < 0);
        ArrayPool<byte>.Shared.Return(after);
    }

    [Fact]
    public async Task SealAndOpen_FromManyThreadsAtOnce_EveryTicketOpensToItsOwnSession()
    {
        var store = new ClientSideSessionStore(Options(), new FakeTimeProvider(Now));

        await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < 500; i++)
            {
                var session = Session((t * 97) + i, seed: (t * 1000) + i);
                AssertSame(session, store.Open(store.Seal(session), Now));
            }
        })));
    }

    [Fact]
    public async Task Commit_NewSession_TakesTheIdAndTheNonceFromOneDrawWithoutSharingAByte()
    {
        var draws = new List<int>();
        byte next = 1;
        var store = new ClientSideSessionStore(Options(), new FakeTimeProvider(Now), null, bytes =>
        {
            draws.Add(bytes.Length);
            for (var i = 0; i < bytes.Length; i++)
            {
                bytes[i] = next++;
            }
        });

        var result = await store.CommitAsync(new SessionCommit { Upserts = new Dictionary<string, ReadOnlyMemory<byte>> { ["n"] = "1"u8.ToArray() } });

        Assert.Equal([16 + 12], draws);
        var drawn = Enumerable.Range(1, 28).Select(i => (byte)i).ToArray();
        Assert.Equal(Base64Url.EncodeToString(drawn.AsSpan(0, 16)), result.SessionId);
        Assert.Equal(SessionIds.Length, result.SessionId!.Length);
        Assert.Equal(drawn[16..], Base64Url.DecodeFromChars(result.Ticket!).AsSpan(21, 12).ToArray());
        var loaded = await store.LoadAsync(result.Ticket!);
        Assert.Equal(result.SessionId, loaded!.Id);
        Assert.Equal("1"u8.ToArray(), loaded.Values["n"].ToArray());
    }

    [Fact]
    public async Task Commit_ManyNewSessions_EveryIdAndEveryNonceIsFresh()
    {
        var store = new ClientSideSessionStore(Options(), new FakeTimeProvider(Now));
        var ids = new HashSet<string>(StringComparer.Ordinal);
        var nonces = new HashSet<string>(StringComparer.Ordinal);

        for (var i = 0; i < 2000; i++)
        {
            var result = await store.CommitAsync(new SessionCommit { Upserts = new Dictionary<string, ReadOnlyMemory<byte>> { ["n"] = "1"u8.ToArray() } });
            Assert.True(SessionIds.IsWellFormed(result.SessionId));
            Assert.True(ids.Add(result.SessionId!));
            Assert.True(nonces.Add(Convert.ToHexString(Base64Url.DecodeFromChars(result.Ticket!).AsSpan(21, 12))));
        }
    }

    [Fact]
    public async Task Commit_MoreTicketsThanOneSubkeysBudget_RollsToAFreshSaltAndEveryTicketStillOpens()
    {
        // 2^16 seals per subkey: one more ticket than that needs a second salt, so no subkey ever nears GCM's 2^32 limit.
        const int budget = 1 << 16;
        var store = new ClientSideSessionStore(Options(), new FakeTimeProvider(Now));
        var salts = new Dictionary<string, int>(StringComparer.Ordinal);
        string? first = null;
        string? last = null;
        for (var i = 0; i <= budget; i++)
        {
            var result = await store.CommitAsync(new SessionCommit { Upserts = new Dictionary<string, ReadOnlyMemory<byte>> { ["n"] = "1"u8.ToArray() } });
            var bytes = Base64Url.DecodeFromChars(result.Ticket!);
            Assert.Equal(2, bytes[0]);
            var salt = Convert.ToHexString(bytes.AsSpan(5, 16));
            salts[salt] = salts.GetValueOrDefault(salt) + 1;
            first ??= result.Ticket;
            last = result.Ticket;
        }

        Assert.Equal([budget, 1], salts.Values.OrderDescending());
        Assert.NotNull(await store.LoadAsync(first!));
        Assert.NotNull(await store.LoadAsync(last!));
    }

    [Fact]
    public async Task Commit_CallerReusesItsBuffersAfterwards_TicketsKeepWhatWasCommitted()
    {
        var store = Store();
        var buffer = "first"u8.ToArray();
        var created = await store.CommitAsync(new SessionCommit { Upserts = new Dictionary<string, ReadOnlyMemory<byte>> { ["a"] = buffer } });
        "XXXXX"u8.CopyTo(buffer);
        var other = "other"u8.ToArray();
        var updated = await store.CommitAsync(new SessionCommit { Ticket = created.Ticket, Upserts = new Dictionary<string, ReadOnlyMemory<byte>> { ["b"] = other } });
        "YYYYY"u8.CopyTo(other);

        Assert.Equal("first"u8.ToArray(), (await store.LoadAsync(created.Ticket!))!.Values["a"].ToArray());
        var loaded = await store.LoadAsync(updated.Ticket!);
        Assert.Equal("first"u8.ToArray(), loaded!.Values["a"].ToArray());
        Assert.Equal("other"u8.ToArray(), loaded.Values["b"].ToArray());
    }

    [Fact]
    public async Task Commit_NewSession_SealsTheCallersBufferWithoutCopyingIt()
    {
        var options = Options(maxTicketLength: 256 * 1024);
        options.MaxPayloadBytes = 128 * 1024;
        var store = new ClientSideSessionStore(options, new FakeTimeProvider(Now), null, RandomNumberGenerator.Fill);
        var value = new byte[96 * 1024];
        SessionCommit Commit() => new() { Upserts = new Dictionary<string, ReadOnlyMemory<byte>> { ["v"] = value } };
        await store.CommitAsync(Commit());

        var before = GC.GetAllocatedBytesForCurrentThread();
        var result = await store.CommitAsync(Commit());
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // The ticket string (2 bytes a character) is the one large allocation; a copy of the value would add 96 KiB more.
        Assert.InRange(allocated, result.Ticket!.Length * 2, (result.Ticket.Length * 2) + (16 * 1024));
    }

    private static readonly DateTimeOffset Now = ClientSideTestKeys.Epoch;

    private static ClientSideSessionStoreOptions Options(ClientSideCompression compression = ClientSideCompression.None, int threshold = 512, int maxTicketLength = 16_000)
    {
        // Seal checks only the ticket's length (MaxPayloadBytes is the commit's check): keep the pair valid for any length.
        var options = new ClientSideSessionStoreOptions
        {
            Purpose = Purpose,
            MaxPayloadBytes = Math.Min(8192, (maxTicketLength * 3 / 4) - 200),
            MaxTicketLength = maxTicketLength,
            Compression = compression,
            CompressionThresholdBytes = threshold,
        };
        options.Keys.Add(ClientSideTestKeys.Key(1));
        return options;
    }

    private static ClientSideSessionStore Store(ClientSideCompression compression = ClientSideCompression.None, int threshold = 512, int maxTicketLength = 16_000)
        => new(Options(compression, threshold, maxTicketLength), new FakeTimeProvider(Now), null, n => FixedNonce.CopyTo(n), n => FixedSalt.CopyTo(n));

    private static SessionSnapshot Session(int valueLength, bool compressible = false, int seed = 7)
    {
        var value = new byte[valueLength];
        if (compressible)
        {
            var text = Encoding.ASCII.GetBytes("SECRET-cart-line-" + seed + ";");
            for (var i = 0; i < value.Length; i++)
            {
                value[i] = text[i % text.Length];
            }
        }
        else
        {
            new Random(seed).NextBytes(value);
        }

        return new SessionSnapshot("id-" + seed.ToString(System.Globalization.CultureInfo.InvariantCulture).PadLeft(19, '0'), 4, new Dictionary<string, ReadOnlyMemory<byte>> { ["value"] = value, ["é"] = "x"u8.ToArray() })
        {
            CreatedAt = Now - TimeSpan.FromMinutes(3),
            LastAccessedAt = Now,
            AbsoluteExpiresAt = Now + TimeSpan.FromHours(1),
            IdleTimeout = TimeSpan.FromMinutes(20),
            UserId = seed % 2 == 0 ? null : "ana",
        };
    }

    private static void AssertSame(SessionSnapshot expected, SessionSnapshot? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(expected.Id, actual!.Id);
        Assert.Equal(expected.Version, actual.Version);
        Assert.Equal(expected.CreatedAt, actual.CreatedAt);
        Assert.Equal(expected.LastAccessedAt, actual.LastAccessedAt);
        Assert.Equal(expected.AbsoluteExpiresAt, actual.AbsoluteExpiresAt);
        Assert.Equal(expected.IdleTimeout, actual.IdleTimeout);
        Assert.Equal(expected.UserId, actual.UserId);
        Assert.Equal(expected.Values.Count, actual.Values.Count);
        foreach (var (key, value) in expected.Values)
        {
            Assert.Equal(value.ToArray(), actual.Values[key].ToArray());
        }
    }

    /// <summary>Seals an uncompressed payload from docs/client-held.md alone, with the fixed salt and nonce.</summary>
    private static string SealByHand(byte[] payload)
    {
        var plaintext = new byte[1 + payload.Length];
        payload.CopyTo(plaintext, 1);
        var ticket = new byte[1 + 4 + 16 + 12 + plaintext.Length + 16];
        ticket[0] = 2;
        BinaryPrimitives.WriteInt32BigEndian(ticket.AsSpan(1), 1);
        FixedSalt.CopyTo(ticket, 5);
        FixedNonce.CopyTo(ticket, 21);
        byte[] aad = [.. ticket[..5], .. "StateKit.ClientSide.v2\0"u8, .. Encoding.UTF8.GetBytes(Purpose)];
        using var aes = new AesGcm(SubkeyByHand(FixedSalt), 16);
        aes.Encrypt(ticket.AsSpan(21, 12), plaintext, ticket.AsSpan(33, plaintext.Length), ticket.AsSpan(33 + plaintext.Length), aad);
        return Base64Url.EncodeToString(ticket);
    }

    /// <summary>Decrypts a ticket from docs/client-held.md alone: the plaintext, encoding byte first.</summary>
    private static byte[] OpenByHand(string ticket)
    {
        var bytes = Base64Url.DecodeFromChars(ticket);
        var plaintext = new byte[bytes.Length - 49];
        byte[] aad = [.. bytes[..5], .. "StateKit.ClientSide.v2\0"u8, .. Encoding.UTF8.GetBytes(Purpose)];
        using var aes = new AesGcm(SubkeyByHand(bytes[5..21]), 16);
        aes.Decrypt(bytes.AsSpan(21, 12), bytes.AsSpan(33, plaintext.Length), bytes.AsSpan(33 + plaintext.Length), plaintext, aad);
        return plaintext;
    }

    private static byte[] SubkeyByHand(byte[] salt)
        => HKDF.DeriveKey(HashAlgorithmName.SHA256, Convert.FromBase64String(ClientSideTestKeys.Key(1).Value!), 32, salt, "StateKit.ClientSide.v2 subkey"u8.ToArray());

    private static byte[] Decompress(byte[] body)
    {
        switch (body[0])
        {
            case 0:
                return body[1..];
            case 1:
                using (var deflate = new DeflateStream(new MemoryStream(body, 1, body.Length - 1), CompressionMode.Decompress))
                using (var output = new MemoryStream())
                {
                    deflate.CopyTo(output);
                    return output.ToArray();
                }

            default:
                var buffer = new byte[64 * 1024];
                Assert.True(BrotliDecoder.TryDecompress(body.AsSpan(1), buffer, out var written));
                return buffer[..written];
        }
    }
}
