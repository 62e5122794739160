using System;
using System.Buffers.Binary;
using System.Buffers.Text;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Tasks;
using CsCheck;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using StateKit.ClientSide;
using StateKit.Serialization;

namespace StateKit.Tests.ClientSide;

/// <summary>What an attacker holding a valid ticket, or none, can and cannot do with the sealed format.</summary>
public sealed class ClientSideSecurityTests
{
    // Version 1 of a sealed ticket of a fixed session, key (id 1) and nonce (0..11), sealed by the version-1 code this
    // store shipped with. Tickets live in users' browsers: it must keep opening as long as a v1 ticket can be alive.
    private const string Version1Snapshot =
        "AQAAAAEAAQIDBAUGBwgJCgtcU16nSjXr7Lz5ydScZPw9E3DpdtAGBBAkDdP69ptpmSzeknIJH0Tl6nvsuY2Ka_BzSKy_GxK2xOd8Tehk_CLuBMPqdJfcuLoyE-J0IluDt70M4oPDz72eusA7kjSoLx8AqJI";

    // Version 2 of the same session, key (id 1), salt (0..15) and nonce (0..11). If this test fails, the change signs every
    // user out. Bump ClientSideTicketFormat.CurrentVersion and keep opening v1 and v2.
    private const string Version2Snapshot =
        "AgAAAAEAAQIDBAUGBwgJCgsMDQ4PAAECAwQFBgcICQoL5yE6IwvJjRNd1bVldGGL7H8nKEd1FARSIFVkNwe9tsemWdOz-RLxY1_ARnnh7rdceMXcR4cxkJ7H2KLTLaejL-kxlPFIAeL6NONX0fF0U29kCuO3o_ZWSPNhdxfLMhAigs2F";

    private readonly FakeTimeProvider _time = new(ClientSideTestKeys.Epoch);

    [Fact]
    public void Seal_FixedSessionKeySaltAndNonce_MatchesTheVersion2Snapshot()
    {
        var store = CreateStore(nonce: Counting, salt: Counting);

        var ticket = store.Seal(FixedSession());

        Assert.Equal(Version2Snapshot, ticket);
    }

    [Theory]
    [InlineData(Version1Snapshot)]
    [InlineData(Version2Snapshot)]
    public void Open_SnapshotOfEachVersion_RestoresTheSession(string snapshot)
    {
        var session = CreateStore().Open(snapshot, ClientSideTestKeys.Epoch);

        Assert.NotNull(session);
        Assert.Equal(FixedSession().Id, session!.Id);
        Assert.Equal(3, session.Version);
        Assert.Equal("ana", session.UserId);
        Assert.Equal("{\"x\":1}"u8.ToArray(), session.Values["cart"].ToArray());
    }

    [Fact]
    public async Task Commit_OnAVersion1Ticket_ReSealsItAsVersion2()
    {
        var store = CreateStore();

        var session = store.Open(Version1Snapshot);
        session.SetBytes("more", [1]);
        await session.CommitAsync();

        Assert.Equal(ClientSideTicketFormat.CurrentVersion, Base64Url.DecodeFromChars(session.Ticket!)[0]);
        var reopened = store.Open(session.Ticket!, ClientSideTestKeys.Epoch);
        Assert.Equal("{\"x\":1}"u8.ToArray(), reopened!.Values["cart"].ToArray());
    }

    [Fact]
    public void Open_TicketBuiltByHandFromTheDocumentedFormat_Opens()
    {
        var ticket = SealByHand(ClientSideTestKeys.Key(1), "tests/security", SessionPayloadFormat.Write(FixedSession()), encoding: 0);

        Assert.NotNull(CreateStore().Open(ticket, ClientSideTestKeys.Epoch));
    }

    [Fact]
    public void Open_Version1TicketBuiltByHandFromTheDocumentedFormat_Opens()
    {
        var ticket = SealVersion1ByHand(ClientSideTestKeys.Key(1), "tests/security", SessionPayloadFormat.Write(FixedSession()));

        Assert.NotNull(CreateStore().Open(ticket, ClientSideTestKeys.Epoch));
    }

    [Fact]
    public async Task Load_EverySingleBitFlip_IsRejected()
    {
        var store = CreateStore();
        var ticket = await NewTicketAsync(store);
        var bytes = Base64Url.DecodeFromChars(ticket);

        for (var bit = 0; bit < bytes.Length * 8; bit++)
        {
            var flipped = (byte[])bytes.Clone();
            flipped[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.Null(await store.LoadAsync(Base64Url.EncodeToString(flipped)));
        }

        Assert.NotNull(await store.LoadAsync(ticket));
    }

    [Fact]
    public async Task Load_TruncatedOrExtended_IsRejected()
    {
        var store = CreateStore();
        var ticket = await NewTicketAsync(store);
        var bytes = Base64Url.DecodeFromChars(ticket);

        for (var length = 0; length < bytes.Length; length++)
        {
            Assert.Null(await store.LoadAsync(Base64Url.EncodeToString(bytes.AsSpan(0, length))));
        }

        for (var length = 0; length < ticket.Length; length++)
        {
            Assert.Null(await store.LoadAsync(ticket[..length]));
        }

        Assert.Null(await store.LoadAsync(Base64Url.EncodeToString([.. bytes, 0])));
        Assert.Null(await store.LoadAsync(ticket + "AAAA"));
    }

    public static TheoryData<string> Malformed => new()
    {
        string.Empty,
        "!!!!",
        "AQAAAAE=",
        "AQAA AAE",
        "AQAA\nAAEA",
        "AQAAAAEAAQIDBAUGBwgJCgtG+/+/",
        "\uFEFFAQAAAAEAAQIDBAUGBwgJCgtG",
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public async Task Load_NotBase64Url_IsRejected(string ticket)
    {
        Assert.Null(await CreateStore().LoadAsync(ticket));
    }

    [Fact]
    public async Task Load_NonCanonicalBase64_IsRejectedThoughItDecodesToTheSameBytes()
    {
        var store = CreateStore();
        string ticket;
        do
        {
            // Unused bits only exist when the byte length is not a multiple of 3.
            ticket = await NewTicketAsync(store, Random.Shared.Next(1, 40));
        }
        while (ticket.Length % 4 == 0);

        var last = ticket[^1];
        // Same bytes to a lenient decoder: only the unused low bits of the last character differ.
        var sibling = ticket[..^1] + Alphabet[Alphabet.IndexOf(last, StringComparison.Ordinal) | 1];

        Assert.NotNull(await store.LoadAsync(ticket));
        Assert.Null(await store.LoadAsync(sibling));
        Assert.Null(await store.LoadAsync(ticket + "="));
    }

    [Fact]
    public async Task Load_OneMegabyteTicket_IsRejectedByLengthBeforeAnyDecoding()
    {
        var logger = new FakeLogger<ClientSideSessionStore>();
        var store = new ClientSideSessionStore(Options(), _time, logger);
        var huge = new string('A', 1024 * 1024);

        var clock = Stopwatch.StartNew();
        for (var i = 0; i < 100; i++)
        {
            Assert.Null(await store.LoadAsync(huge));
        }

        // 100 rejections of 1 MB; a generous bound that still fails if the store ever decoded or decrypted them.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"took {clock.Elapsed}");
        Assert.All(logger.Collector.GetSnapshot(), r => Assert.Contains("too long", r.Message, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Load_AfterRotation_OldKeyOpensUntilRemovedAndCommitReSealsWithTheCurrentKey()
    {
        var old = await NewTicketAsync(CreateStore(keys: [1]));
        var rotated = CreateStore(keys: [1, 2]);

        Assert.NotNull(await rotated.LoadAsync(old));
        var session = rotated.Open(old);
        session.Set("touched", 1, Testing.ContractJsonContext.Default.Int32);
        await session.CommitAsync();
        var resealed = session.Ticket!;
        Assert.Equal(2, KeyIdOf(resealed));
        Assert.Equal(1, KeyIdOf(old));

        var retired = CreateStore(keys: [2]);
        Assert.Null(await retired.LoadAsync(old));
        Assert.NotNull(await retired.LoadAsync(resealed));
    }

    [Fact]
    public async Task Load_TicketSealedForAnotherPurpose_IsRejected()
    {
        var ticket = await NewTicketAsync(CreateStore(purpose: "shop/prefs/.prefs"));

        Assert.NotNull(await CreateStore(purpose: "shop/prefs/.prefs").LoadAsync(ticket));
        Assert.Null(await CreateStore(purpose: "shop/cart/.cart").LoadAsync(ticket));
        Assert.Null(await CreateStore(purpose: "other-app/prefs/.prefs").LoadAsync(ticket));
    }

    [Fact]
    public async Task Load_EveryFailure_LooksTheSameFromOutside()
    {
        var store = CreateStore();
        var ticket = await NewTicketAsync(store);
        var forged = ticket[..^2] + (ticket[^2] == 'A' ? "B" : "A") + ticket[^1];
        var otherPurpose = await NewTicketAsync(CreateStore(purpose: "elsewhere"));
        var unknownKey = await NewTicketAsync(CreateStore(keys: [9]));
        _time.Advance(TimeSpan.FromHours(1));

        foreach (var bad in new[] { forged, otherPurpose, unknownKey, ticket, "garbage", new string('A', 5000) })
        {
            Assert.Null(await store.LoadAsync(bad));
            Assert.Equal(SessionCommitOutcome.NotFound, (await store.CommitAsync(new SessionCommit { Ticket = bad, Upserts = One })).Outcome);
        }
    }

    [Theory]
    [InlineData(ClientSideCompression.Deflate)]
    [InlineData(ClientSideCompression.Brotli)]
    public async Task Commit_Compressed_RoundTripsAndShrinksTheTicket(ClientSideCompression compression)
    {
        var plain = CreateStore();
        var packed = CreateStore(compression: compression);
        var value = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("{\"sku\":\"ABC-123\",\"qty\":1},", 60)));

        var a = plain.Open(null);
        a.SetBytes("cart", value);
        await a.CommitAsync();
        var b = packed.Open(null);
        b.SetBytes("cart", value);
        await b.CommitAsync();

        Assert.True(b.Ticket!.Length < a.Ticket!.Length / 3, $"{b.Ticket.Length} vs {a.Ticket.Length}");
        var loaded = await packed.LoadAsync(b.Ticket);
        Assert.Equal(value, loaded!.Values["cart"].ToArray());
    }

    [Fact]
    public void Open_AuthenticDecompressionBomb_IsRejected()
    {
        // Even a ticket sealed with the real key (a leaked key, a bug) cannot make the store inflate more than its bound.
        using var compressed = new MemoryStream();
        using (var deflate = new DeflateStream(compressed, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            deflate.Write(new byte[64 * 1024 * 1024]);
        }

        var ticket = SealByHand(ClientSideTestKeys.Key(1), "tests/security", compressed.ToArray(), encoding: 1, maxLength: int.MaxValue);
        var store = CreateStore(maxTicketLength: 1024 * 1024);

        var clock = Stopwatch.StartNew();
        Assert.Null(store.Open(ticket, ClientSideTestKeys.Epoch));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task Commit_TicketOverTheBudget_ThrowsTypedErrorNamingMaxTicketLength()
    {
        var store = CreateStore(maxTicketLength: 4000, maxPayloadBytes: 2048);
        var session = store.Open(null);
        for (var i = 0; i < 900; i++)
        {
            // Tiny entries: within MaxPayloadBytes, but each costs framing in the ticket.
            session.SetBytes(string.Concat(Alphabet[i % 64], Alphabet[i / 64]), []);
        }

        var error = await Assert.ThrowsAsync<SessionPayloadTooLargeException>(async () => await session.CommitAsync());

        Assert.Equal("MaxTicketLength", error.LimitName);
        Assert.Equal(4000, error.Limit);
        Assert.Contains("MaxTicketLength", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Fuzz_RandomStrings_NeverOpenAndNeverThrow()
    {
        var store = CreateStore();
        var alphabet = Gen.Char[Alphabet + "=+/ .\0é"];
        Gen.OneOf(Gen.String[alphabet, 0, 400], Gen.String[Gen.Char, 0, 200])
            .Sample(ticket => Assert.Null(store.Open(ticket, ClientSideTestKeys.Epoch)), iter: 100_000, threads: 1);
    }

    [Fact]
    public async Task Fuzz_MutatedValidTickets_NeverOpenAndNeverThrow()
    {
        var store = CreateStore();
        var valid = Base64Url.DecodeFromChars(await NewTicketAsync(store, 30));
        var mutation = Gen.Select(Gen.Int[0, 3], Gen.Int[0, valid.Length - 1], Gen.Byte[1, 255], Gen.Int[1, 8]);

        mutation.Sample(
            m =>
            {
                var (kind, at, mask, count) = m;
                byte[] bytes = kind switch
                {
                    0 => Xor(valid, at, mask),                                       // change one byte
                    1 => valid[..at],                                                // truncate
                    2 => [.. valid[..at], .. new byte[count], .. valid[at..]],      // insert
                    _ => [.. valid[..at], .. valid[Math.Min(valid.Length, at + count)..]], // delete
                };
                Assert.Null(store.Open(Base64Url.EncodeToString(bytes), ClientSideTestKeys.Epoch));
            },
            iter: 100_000,
            threads: 1);
    }

    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    private static readonly Dictionary<string, ReadOnlyMemory<byte>> One = new() { ["n"] = "1"u8.ToArray() };

    private static byte[] Xor(byte[] source, int at, byte mask)
    {
        var copy = (byte[])source.Clone();
        copy[at] ^= mask;
        return copy;
    }

    private static int KeyIdOf(string ticket) => BinaryPrimitives.ReadInt32BigEndian(Base64Url.DecodeFromChars(ticket).AsSpan(1, 4));

    private ClientSideSessionStore CreateStore(
        int[]? keys = null,
        string purpose = "tests/security",
        ClientSideCompression compression = ClientSideCompression.None,
        int maxTicketLength = 8000,
        int maxPayloadBytes = 4096,
        ClientSideSessionStore.SpanAction? nonce = null,
        ClientSideSessionStore.SpanAction? salt = null)
    {
        var options = Options(keys, purpose, maxTicketLength, maxPayloadBytes);
        options.Compression = compression;
        return new ClientSideSessionStore(options, _time, null, nonce ?? RandomNumberGenerator.Fill, salt);
    }

    private static ClientSideSessionStoreOptions Options(int[]? keys = null, string purpose = "tests/security", int maxTicketLength = 8000, int maxPayloadBytes = 4096)
    {
        var options = new ClientSideSessionStoreOptions { Purpose = purpose, MaxTicketLength = maxTicketLength, MaxPayloadBytes = maxPayloadBytes };
        foreach (var id in keys ?? [1])
        {
            options.Keys.Add(ClientSideTestKeys.Key(id));
        }

        return options;
    }

    private static async Task<string> NewTicketAsync(ISessionStore store, int valueLength = 8)
    {
        var session = store.Open(null);
        session.SetBytes("v", new byte[valueLength]);
        await session.CommitAsync();
        return session.Ticket!;
    }

    private static SessionSnapshot FixedSession() => new(
        "AAAAAAAAAAAAAAAAAAAAAA",
        3,
        new Dictionary<string, ReadOnlyMemory<byte>> { ["cart"] = "{\"x\":1}"u8.ToArray() })
    {
        CreatedAt = ClientSideTestKeys.Epoch,
        LastAccessedAt = ClientSideTestKeys.Epoch,
        AbsoluteExpiresAt = ClientSideTestKeys.Epoch + TimeSpan.FromHours(12),
        IdleTimeout = TimeSpan.FromMinutes(20),
        UserId = "ana",
    };

    /// <summary>Builds a version-2 ticket from docs/client-held.md alone, without the store's code.</summary>
    private static string SealByHand(ClientSideKey key, string purpose, byte[] body, byte encoding, int maxLength = 8000)
    {
        var plaintext = new byte[1 + body.Length];
        plaintext[0] = encoding;
        body.CopyTo(plaintext, 1);
        var ticket = new byte[1 + 4 + 16 + 12 + plaintext.Length + 16];
        ticket[0] = 2;
        BinaryPrimitives.WriteInt32BigEndian(ticket.AsSpan(1), key.Id);
        RandomNumberGenerator.Fill(ticket.AsSpan(5, 16 + 12));
        var subkey = HKDF.DeriveKey(HashAlgorithmName.SHA256, Convert.FromBase64String(key.Value!), 32, ticket[5..21], "StateKit.ClientSide.v2 subkey"u8.ToArray());
        byte[] aad = [.. ticket[..5], .. "StateKit.ClientSide.v2\0"u8, .. Encoding.UTF8.GetBytes(purpose)];
        using var aes = new AesGcm(subkey, 16);
        aes.Encrypt(ticket.AsSpan(21, 12), plaintext, ticket.AsSpan(33, plaintext.Length), ticket.AsSpan(33 + plaintext.Length), aad);
        var text = Base64Url.EncodeToString(ticket);
        Assert.True(text.Length <= maxLength);
        return text;
    }

    /// <summary>Builds a version-1 ticket (no salt, the key itself) from docs/client-held.md alone.</summary>
    private static string SealVersion1ByHand(ClientSideKey key, string purpose, byte[] body)
    {
        var plaintext = new byte[1 + body.Length];
        body.CopyTo(plaintext, 1);
        var ticket = new byte[1 + 4 + 12 + plaintext.Length + 16];
        ticket[0] = 1;
        BinaryPrimitives.WriteInt32BigEndian(ticket.AsSpan(1), key.Id);
        RandomNumberGenerator.Fill(ticket.AsSpan(5, 12));
        byte[] aad = [.. ticket[..5], .. "StateKit.ClientSide.v1\0"u8, .. Encoding.UTF8.GetBytes(purpose)];
        using var aes = new AesGcm(Convert.FromBase64String(key.Value!), 16);
        aes.Encrypt(ticket.AsSpan(5, 12), plaintext, ticket.AsSpan(17, plaintext.Length), ticket.AsSpan(17 + plaintext.Length), aad);
        return Base64Url.EncodeToString(ticket);
    }

    private static void Counting(Span<byte> bytes)
    {
        for (var i = 0; i < bytes.Length; i++)
        {
            bytes[i] = (byte)i;
        }
    }
}
