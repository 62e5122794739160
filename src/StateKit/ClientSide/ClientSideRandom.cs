using System;
using System.Buffers.Text;
using System.Security.Cryptography;

namespace StateKit.ClientSide;

/// <summary>
/// The random bytes the client-held stores need, drawn from the OS CSPRNG in batches per thread: the sealed store's nonces
/// and new sessions' ids, and the JWT store's <c>sid</c> and <c>jti</c> (linked as source into StateKit.Jwt). One call into the CSPRNG costs about 0.7 us on a VM, nearly all of it per call (OpenSSL's
/// fork check, locks, parameter lookups) rather than per byte; a seal needs 12 bytes and a new session 28.
/// </summary>
/// <remarks>
/// <para>
/// Buffering is acceptable here and is refused for server-side session ids (<see cref="SessionIds"/>), because nothing
/// drawn here is a bearer secret. A nonce is written in clear in the ticket, and GCM needs it unique, not unpredictable.
/// A client-side session id never leaves the ciphertext: the sealed ticket is the credential, and the id only names the
/// session to the app and to the deny list, so bytes waiting in memory cannot be turned into a session. A JWT's
/// <c>sid</c> and <c>jti</c> (<see cref="NewId"/>) are not bearer secrets either: the signature is the credential, and a
/// signed token shows both ids to whoever holds it.
/// </para>
/// <para>
/// Each byte is handed out once and wiped as it is, and only after the CSPRNG call that filled it returned: a failing
/// source fails every draw until it recovers, never hands out zeros; each assembly that links this file keeps batches of its own, so no two
/// stores share a byte either. A forked child would share a parent's unused bytes, which would
/// repeat nonces; .NET does not support fork without exec.
/// </para>
/// </remarks>
internal static class ClientSideRandom
{
    /// <summary>The batch: 18 new sessions or 42 seals per call into the CSPRNG.</summary>
    internal const int BatchBytes = 512;

    [ThreadStatic]
    private static byte[]? t_batch;

    [ThreadStatic]
    private static int t_offset;

    [ThreadStatic]
    private static Source? t_sourceForTests;

    /// <summary>Fills a span with random bytes, or throws.</summary>
    internal delegate void Source(Span<byte> destination);

    /// <summary>Gets the calling thread's batch, for tests.</summary>
    internal static byte[]? CurrentThreadBatch => t_batch;

    /// <summary>Gets how many bytes of the calling thread's batch are used up (and wiped), for tests.</summary>
    internal static int CurrentThreadOffset => t_offset;

    /// <summary>Gets or sets, on the calling thread only, a source that replaces the CSPRNG; tests inject a failing one.</summary>
    internal static Source? CurrentThreadSourceForTests
    {
        get => t_sourceForTests;
        set => t_sourceForTests = value;
    }

    /// <summary>A 128-bit id in unpadded base64url, as <c>SessionIds</c> writes one, for ids that are not bearer secrets.</summary>
    /// <returns>22 characters nobody else gets.</returns>
    public static string NewId()
    {
        Span<byte> bytes = stackalloc byte[16];
        Fill(bytes);
        var id = Base64Url.EncodeToString(bytes);
        CryptographicOperations.ZeroMemory(bytes);
        return id;
    }

    /// <summary>Fills <paramref name="destination"/> with bytes from the OS CSPRNG that nobody else gets.</summary>
    public static void Fill(Span<byte> destination)
    {
        if (destination.Length > BatchBytes / 8)
        {
            Draw(destination);
            return;
        }

        var batch = t_batch;
        var offset = t_offset;
        if (batch is null)
        {
            batch = new byte[BatchBytes];
            offset = BatchBytes;
        }

        if (offset > BatchBytes - destination.Length)
        {
            // Fail closed: until the fill returns, nothing in the batch counts as filled, so a fill that throws (first use or
            // halfway through a refill) leaves every later call to draw again rather than hand out zeros or a torn batch.
            t_offset = BatchBytes;
            Draw(batch);
            t_batch = batch;
            offset = 0;
        }

        var bytes = batch.AsSpan(offset, destination.Length);
        bytes.CopyTo(destination);
        bytes.Clear();
        t_offset = offset + destination.Length;
    }

    private static void Draw(Span<byte> destination)
    {
        if (t_sourceForTests is { } source)
        {
            source(destination);
        }
        else
        {
            RandomNumberGenerator.Fill(destination);
        }
    }
}
