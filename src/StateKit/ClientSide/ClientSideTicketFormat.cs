using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Buffers.Text;
using System.IO;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using StateKit.Serialization;

namespace StateKit.ClientSide;

/// <summary>
/// The sealed ticket, version 2 (docs/client-held.md): base64url of
/// <c>version (2) | key id (4, big-endian) | salt (16) | nonce (12) | AES-256-GCM ciphertext | tag (16)</c>, encrypted under
/// the subkey HKDF-SHA256(key, salt, "StateKit.ClientSide.v2 subkey"), where the plaintext is
/// <c>encoding (1) | session payload</c> (the payload raw, Deflate- or Brotli-compressed) and the associated data is
/// <c>version | key id | "StateKit.ClientSide.v2" 0x00 purpose</c>. Version 1 (no salt, the key itself, label
/// <c>StateKit.ClientSide.v1</c>) still opens.
/// </summary>
internal static class ClientSideTicketFormat
{
    public const byte CurrentVersion = 2;
    public const byte Version1 = 1;
    public const int KeyIdSize = 4;
    public const int SaltSize = 16;
    public const int NonceSize = 12;
    public const int TagSize = 16;
    public const int HeaderSize = AuthenticatedHeaderSize + SaltSize + NonceSize;
    public const int Overhead = HeaderSize + TagSize;
    public const int Version1HeaderSize = AuthenticatedHeaderSize + NonceSize;
    public const int Version1Overhead = Version1HeaderSize + TagSize;

    public const byte EncodingRaw = 0;
    public const byte EncodingDeflate = 1;
    public const byte EncodingBrotli = 2;

    // The authenticated part of the header: version and key id (the salt is bound through the subkey, the nonce as the nonce).
    private const int AuthenticatedHeaderSize = 1 + KeyIdSize;

    /// <summary>Gets HKDF's info for a version-2 subkey.</summary>
    public static ReadOnlySpan<byte> SubkeyInfo => "StateKit.ClientSide.v2 subkey"u8;

    /// <summary>
    /// The associated data of a ticket of <paramref name="version"/> sealed with key <paramref name="keyId"/>: its
    /// authenticated header (version, key id big-endian), a domain label naming the version, then the purpose, so tickets
    /// never cross purposes. It depends on nothing else, so each key of a store's ring computes it once per version.
    /// </summary>
    public static byte[] CreateAssociatedData(byte version, int keyId, string purpose)
    {
        ReadOnlySpan<byte> domain = version == Version1 ? "StateKit.ClientSide.v1\0"u8 : "StateKit.ClientSide.v2\0"u8;
        var purposeBytes = Encoding.UTF8.GetBytes(purpose);
        var data = new byte[AuthenticatedHeaderSize + domain.Length + purposeBytes.Length];
        data[0] = version;
        BinaryPrimitives.WriteInt32BigEndian(data.AsSpan(1), keyId);
        domain.CopyTo(data.AsSpan(AuthenticatedHeaderSize));
        purposeBytes.CopyTo(data.AsSpan(AuthenticatedHeaderSize + domain.Length));
        return data;
    }

    /// <summary>The largest plaintext a ticket may decompress to: the payload limit plus generous framing.</summary>
    public static int PlaintextBound(int maxPayloadBytes) => (int)Math.Min(int.MaxValue / 4, (2L * maxPayloadBytes) + 4096);

    /// <summary>The shortest ticket a session of <paramref name="payloadBytes"/> (key + value, one key) can seal to, uncompressed.</summary>
    public static int SmallestTicketLength(int payloadBytes)
    {
        // encoding, fixed fields, a 22-character id, no user, one entry: key length, value length, key + value bytes.
        var plaintext = 1 + (1 + (5 * sizeof(long))) + 1 + SessionIds.Length + 1 + 1 + 1 + SessionPayloadFormat.VarIntSize((ulong)Math.Max(0, payloadBytes - 1)) + payloadBytes;
        return Base64Url.GetEncodedLength(Overhead + plaintext);
    }

    /// <summary>Seals a session with <paramref name="key"/> and <paramref name="nonce"/>.</summary>
    /// <exception cref="SessionPayloadTooLargeException">The ticket would be longer than <paramref name="maxTicketLength"/>, or the serialized session larger than the plaintext bound.</exception>
    public static string Seal(
        SessionSnapshot session,
        ClientSideKeyRing.Key key,
        ReadOnlySpan<byte> nonce,
        ClientSideCompression compression,
        int compressionThreshold,
        int maxTicketLength,
        int plaintextBound)
    {
        var payloadSize = SessionPayloadFormat.GetSize(session);
        SessionPayloadTooLargeException.ThrowIfOver(1 + payloadSize, plaintextBound, "serialized session (2 x MaxPayloadBytes + 4096)");

        var subkey = key.TakeSealingSubkey();
        return compression != ClientSideCompression.None && payloadSize >= compressionThreshold
            ? SealCompressed(session, payloadSize, key, subkey, nonce, compression, maxTicketLength)
            : SealRaw(session, payloadSize, key, subkey, nonce, maxTicketLength);
    }

    /// <summary>
    /// The uncompressed seal, in one pooled buffer: the payload is written where its ciphertext goes and encrypted in
    /// place, and the base64url string is encoded straight from that buffer. Its length is known before anything is
    /// written, so an oversized session fails before it is serialized.
    /// </summary>
    private static string SealRaw(SessionSnapshot session, int payloadSize, ClientSideKeyRing.Key key, ClientSideKeyRing.Subkey subkey, ReadOnlySpan<byte> nonce, int maxTicketLength)
    {
        var length = Overhead + 1 + payloadSize;
        CheckTicketLength(length, maxTicketLength);
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        var output = buffer.AsSpan(0, length);
        var body = output.Slice(HeaderSize, 1 + payloadSize);
        var encrypted = false;
        try
        {
            body[0] = EncodingRaw;
            SessionPayloadFormat.Write(session, body[1..]);
            WriteHeader(output, key.Id, subkey.Salt, nonce);
            Encrypt(key, subkey, nonce, body, output);
            encrypted = true;
            return Base64Url.EncodeToString(output);
        }
        finally
        {
            // Once encrypted in place the buffer holds only what the ticket shows anyway; until then, the session in the clear.
            if (!encrypted)
            {
                CryptographicOperations.ZeroMemory(body);
            }

            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The compressed seal: serialize, compress, and encrypt whichever of the two is shorter.</summary>
    private static string SealCompressed(
        SessionSnapshot session,
        int payloadSize,
        ClientSideKeyRing.Key key,
        ClientSideKeyRing.Subkey subkey,
        ReadOnlySpan<byte> nonce,
        ClientSideCompression compression,
        int maxTicketLength)
    {
        var plain = ArrayPool<byte>.Shared.Rent(1 + payloadSize);
        byte[]? packed = null;
        byte[]? sealedBytes = null;
        try
        {
            plain[0] = EncodingRaw;
            SessionPayloadFormat.Write(session, plain.AsSpan(1, payloadSize));
            ReadOnlySpan<byte> body = plain.AsSpan(0, 1 + payloadSize);
            packed = Compress(compression, plain.AsSpan(1, payloadSize), out var packedLength);
            if (packedLength < payloadSize)
            {
                body = packed.AsSpan(0, packedLength);
            }

            var length = Overhead + body.Length;
            CheckTicketLength(length, maxTicketLength);
            sealedBytes = ArrayPool<byte>.Shared.Rent(length);
            var output = sealedBytes.AsSpan(0, length);
            WriteHeader(output, key.Id, subkey.Salt, nonce);
            Encrypt(key, subkey, nonce, body, output);
            return Base64Url.EncodeToString(output);
        }
        finally
        {
            // The plaintext is the session: do not leave it in a pooled buffer for the next renter.
            ArrayPool<byte>.Shared.Return(plain, clearArray: true);
            if (packed is not null)
            {
                ArrayPool<byte>.Shared.Return(packed, clearArray: true);
            }

            if (sealedBytes is not null)
            {
                ArrayPool<byte>.Shared.Return(sealedBytes);
            }
        }
    }

    private static void CheckTicketLength(int sealedLength, int maxTicketLength)
    {
        var ticketLength = Base64Url.GetEncodedLength(sealedLength);
        SessionPayloadTooLargeException.ThrowIfOver(ticketLength, maxTicketLength, "MaxTicketLength");
    }

    private static void WriteHeader(Span<byte> output, int keyId, ReadOnlySpan<byte> salt, ReadOnlySpan<byte> nonce)
    {
        output[0] = CurrentVersion;
        BinaryPrimitives.WriteInt32BigEndian(output[1..], keyId);
        salt.CopyTo(output[AuthenticatedHeaderSize..]);
        nonce.CopyTo(output[(AuthenticatedHeaderSize + SaltSize)..]);
    }

    /// <summary>
    /// Encrypts <paramref name="body"/> into <paramref name="output"/> after its header, tag last. The body may already
    /// sit exactly where its ciphertext goes (AesGcm encrypts in place when the two spans are the same memory).
    /// </summary>
    private static void Encrypt(ClientSideKeyRing.Key key, ClientSideKeyRing.Subkey subkey, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> body, Span<byte> output)
    {
        var aes = subkey.Ciphers.Rent();
        try
        {
            aes.Encrypt(nonce, body, output.Slice(HeaderSize, body.Length), output[^TagSize..], key.AssociatedData);
        }
        finally
        {
            subkey.Ciphers.Return(aes);
        }
    }

    /// <summary>Opens a ticket. Every failure returns <see langword="false"/> with a reason for the debug log; nothing throws.</summary>
    /// <remarks>
    /// One pooled buffer: the ticket is decoded into it, decrypted in place and parsed from there; the plaintext part is
    /// wiped before the buffer goes back to the pool.
    /// </remarks>
    public static bool TryOpen(
        string? ticket,
        ClientSideKeyRing ring,
        int maxTicketLength,
        int plaintextBound,
        out SessionSnapshot? session,
        out int keyId,
        out string reason)
    {
        session = null;
        keyId = -1;
        if (string.IsNullOrEmpty(ticket))
        {
            reason = "empty";
            return false;
        }

        // Length first: an oversized ticket costs one comparison, never a decode or a decryption.
        if (ticket.Length > maxTicketLength)
        {
            reason = "too long";
            return false;
        }

        if (!Base64UrlText.IsCanonical(ticket) || ticket.Length < Base64Url.GetEncodedLength(Version1Overhead + 1))
        {
            reason = "malformed";
            return false;
        }

        var length = Base64Url.GetMaxDecodedLength(ticket.Length);
        var bytes = ArrayPool<byte>.Shared.Rent(length);
        var headerSize = 0;
        var plaintextLength = 0;
        try
        {
            if (!Base64Url.TryDecodeFromChars(ticket, bytes, out var written) || written != length)
            {
                reason = "malformed";
                return false;
            }

            var input = bytes.AsSpan(0, length);
            var version = input[0];
            if (version is not (CurrentVersion or Version1))
            {
                reason = "unknown version";
                return false;
            }

            headerSize = version == CurrentVersion ? HeaderSize : Version1HeaderSize;
            if (length < headerSize + TagSize + 1)
            {
                reason = "malformed";
                return false;
            }

            keyId = BinaryPrimitives.ReadInt32BigEndian(input[1..]);
            if (!ring.TryGet(keyId, out var key))
            {
                reason = "unknown key";
                return false;
            }

            var cipherLength = length - headerSize - TagSize;
            var body = input.Slice(headerSize, cipherLength);
            var nonce = input.Slice(headerSize - NonceSize, NonceSize);

            // The version byte was checked and the key found by the id the ticket names, so the key's associated data of
            // that version is exactly this ticket's header followed by the store's purpose.
            ClientSideKeyRing.Subkey? subkey = null;
            var cached = true;
            ClientSideCipherPool ciphers;
            byte[] associatedData;
            if (version == CurrentVersion)
            {
                subkey = key.GetSubkey(input.Slice(AuthenticatedHeaderSize, SaltSize), out cached);
                ciphers = subkey.Ciphers;
                associatedData = key.AssociatedData;
            }
            else
            {
                ciphers = key.Version1Ciphers;
                associatedData = key.Version1AssociatedData;
            }

            var aes = ciphers.Rent();
            try
            {
                // From here the body may hold plaintext (AesGcm wipes it when the tag does not match; we wipe it anyway).
                plaintextLength = cipherLength;
                aes.Decrypt(nonce, body, input[^TagSize..], body, associatedData);
            }
            catch (CryptographicException)
            {
                reason = "failed authentication";
                return false;
            }
            finally
            {
                ciphers.Return(aes);
            }

            if (!cached)
            {
                key.Remember(subkey!);
            }

            if (!TryReadBody(body, plaintextBound, out session))
            {
                reason = "unreadable payload";
                return false;
            }

            reason = string.Empty;
            return true;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes.AsSpan(headerSize, plaintextLength));
            ArrayPool<byte>.Shared.Return(bytes);
        }
    }

    private static byte[] Compress(ClientSideCompression compression, ReadOnlySpan<byte> payload, out int length)
    {
        if (compression == ClientSideCompression.Brotli)
        {
            var output = ArrayPool<byte>.Shared.Rent(1 + BrotliEncoder.GetMaxCompressedLength(payload.Length));
            output[0] = EncodingBrotli;
            if (!BrotliEncoder.TryCompress(payload, output.AsSpan(1), out var written, quality: 4, window: 22))
            {
                throw new InvalidOperationException("Brotli could not compress into its own worst-case bound.");
            }

            length = 1 + written;
            return output;
        }

        using var stream = new MemoryStream(payload.Length);
        stream.WriteByte(EncodingDeflate);
        using (var deflate = new DeflateStream(stream, CompressionLevel.Fastest, leaveOpen: true))
        {
            deflate.Write(payload);
        }

        length = (int)stream.Length;
        var result = ArrayPool<byte>.Shared.Rent(length);
        stream.GetBuffer().AsSpan(0, length).CopyTo(result);
        return result;
    }

    private static bool TryReadBody(ReadOnlySpan<byte> body, int plaintextBound, out SessionSnapshot? session)
    {
        session = null;
        if (body.IsEmpty)
        {
            return false;
        }

        switch (body[0])
        {
            case EncodingRaw:
                return SessionPayloadFormat.TryRead(body[1..], out session);
            case EncodingDeflate:
            case EncodingBrotli:
                var output = ArrayPool<byte>.Shared.Rent(plaintextBound);
                try
                {
                    // Bounded: whatever the input claims, at most plaintextBound bytes come out (no decompression bomb).
                    return TryDecompress(body[0], body[1..], output.AsSpan(0, plaintextBound), out var written)
                        && SessionPayloadFormat.TryRead(output.AsSpan(0, written), out session);
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(output, clearArray: true);
                }

            default:
                return false;
        }
    }

    private static bool TryDecompress(byte encoding, ReadOnlySpan<byte> input, Span<byte> output, out int written)
    {
        written = 0;
        if (encoding == EncodingBrotli)
        {
            // False when the input is invalid or would not fit the bound.
            return BrotliDecoder.TryDecompress(input, output, out written);
        }

        try
        {
            using var source = new MemoryStream(input.ToArray(), writable: false);
            using var deflate = new DeflateStream(source, CompressionMode.Decompress);
            while (written < output.Length)
            {
                var read = deflate.Read(output[written..]);
                if (read == 0)
                {
                    return true;
                }

                written += read;
            }

            // Full: anything left means the payload is over the bound.
            return deflate.ReadByte() < 0;
        }
        catch (InvalidDataException)
        {
            return false;
        }
    }
}
