using System;
using System.Security.Cryptography;

namespace StateKit.ClientSide;

/// <summary>
/// The random bytes a <see cref="ClientSideSessionStore"/> needs, nonces and new sessions' ids, drawn from the OS CSPRNG
/// in batches per thread. One call into the CSPRNG costs about 0.7 us on a VM, nearly all of it per call (OpenSSL's
/// fork check, locks, parameter lookups) rather than per byte; a seal needs 12 bytes and a new session 28.
/// </summary>
/// <remarks>
/// <para>
/// Buffering is acceptable here and is refused for server-side session ids (<see cref="SessionIds"/>), because nothing
/// drawn here is a bearer secret. A nonce is written in clear in the ticket, and GCM needs it unique, not unpredictable.
/// A client-side session id never leaves the ciphertext: the sealed ticket is the credential, and the id only names the
/// session to the app and to the deny list, so bytes waiting in memory cannot be turned into a session. That is the
/// reasoning <c>JwtSessionStore.NewRandomId</c> follows for <c>sid</c> and <c>jti</c>.
/// </para>
/// <para>
/// Each byte is handed out once and wiped as it is. A forked child would share a parent's unused bytes, which would
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

    /// <summary>Gets the calling thread's batch, for tests.</summary>
    internal static byte[]? CurrentThreadBatch => t_batch;

    /// <summary>Gets how many bytes of the calling thread's batch are used up (and wiped), for tests.</summary>
    internal static int CurrentThreadOffset => t_offset;

    /// <summary>Fills <paramref name="destination"/> with bytes from the OS CSPRNG that nobody else gets.</summary>
    public static void Fill(Span<byte> destination)
    {
        if (destination.Length > BatchBytes / 8)
        {
            RandomNumberGenerator.Fill(destination);
            return;
        }

        var batch = t_batch;
        var offset = t_offset;
        if (batch is null)
        {
            batch = t_batch = new byte[BatchBytes];
            offset = BatchBytes;
        }

        if (offset > BatchBytes - destination.Length)
        {
            RandomNumberGenerator.Fill(batch);
            offset = 0;
        }

        var bytes = batch.AsSpan(offset, destination.Length);
        bytes.CopyTo(destination);
        bytes.Clear();
        t_offset = offset + destination.Length;
    }
}
