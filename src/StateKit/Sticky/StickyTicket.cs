using System;
using System.Buffers.Text;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace StateKit.Sticky;

/// <summary>
/// Reads sticky tickets outside an app node, for a proxy that routes on them (the StateKit.Yarp affinity policy, or
/// your own). A ticket is plain ASCII, <c>s1.{keyId}.{nodeId}.{sessionId}.{issuedAt}.{mac}</c>, where the MAC is the
/// base64url HMAC-SHA256, under the key named by <c>keyId</c>, of every character before the last dot.
/// </summary>
/// <remarks>
/// A proxy without the key can still route on the third field (see docs/sticky.md); the node verifies the MAC
/// either way, so a forged ticket never loads a session.
/// </remarks>
public static class StickyTicket
{
    internal const string Prefix = "s1";
    internal const int MaxKeyIdLength = 16;
    internal const int MaxNodeIdLength = 64;
    internal const int MaxSessionIdLength = 128;
    internal const int MaxLength = 256;
    private const int MacLength = 32;
    private const int MacChars = 43;

    /// <summary>Verifies a ticket's MAC against a key ring and returns the node it names.</summary>
    /// <param name="ticket">The ticket (the value of the <c>statekit</c> cookie).</param>
    /// <param name="keys">The key ring; any key verifies.</param>
    /// <param name="nodeId">The node the ticket names, when it verifies.</param>
    /// <returns><see langword="true"/> when the ticket is well formed and its MAC verifies under a key of the ring.</returns>
    public static bool TryReadNodeId(string? ticket, IEnumerable<StickyKey> keys, [NotNullWhen(true)] out string? nodeId)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (TryRead(ticket, keys, out var contents))
        {
            nodeId = contents.NodeId;
            return true;
        }

        nodeId = null;
        return false;
    }

    internal static string Issue(StickyKey key, string nodeId, string sessionId, DateTimeOffset issuedAt)
    {
        var body = string.Create(
            CultureInfo.InvariantCulture,
            $"{Prefix}.{key.Id}.{nodeId}.{sessionId}.{issuedAt.ToUnixTimeSeconds()}");
        Span<byte> mac = stackalloc byte[MacLength];
        Mac(key, body, mac);
        return body + "." + Base64Url.EncodeToString(mac);
    }

    internal static bool TryRead(string? ticket, IEnumerable<StickyKey> keys, out Contents contents)
    {
        contents = default;
        if (ticket is null || ticket.Length > MaxLength)
        {
            return false;
        }

        Span<Range> parts = stackalloc Range[7];
        var span = ticket.AsSpan();
        if (span.Split(parts, '.') != 6 || !span[parts[0]].SequenceEqual(Prefix))
        {
            return false;
        }

        var keyId = span[parts[1]];
        var node = span[parts[2]];
        var session = span[parts[3]];
        var issued = span[parts[4]];
        var mac = span[parts[5]];
        if (!IsToken(keyId, MaxKeyIdLength) || !IsToken(node, MaxNodeIdLength) || !IsToken(session, MaxSessionIdLength)
            || issued.Length is 0 or > 12 || !IsDigits(issued) || mac.Length != MacChars)
        {
            return false;
        }

        StickyKey? key = null;
        foreach (var candidate in keys)
        {
            if (keyId.SequenceEqual(candidate.Id))
            {
                key = candidate;
                break;
            }
        }

        Span<byte> presented = stackalloc byte[MacLength + 2];
        if (key is null || !Base64Url.IsValid(mac) || !Base64Url.TryDecodeFromChars(mac, presented, out var written) || written != MacLength)
        {
            return false;
        }

        Span<byte> expected = stackalloc byte[MacLength];
        Mac(key, span[..(parts[5].Start.Value - 1)], expected);
        if (!CryptographicOperations.FixedTimeEquals(expected, presented[..MacLength]))
        {
            return false;
        }

        contents = new Contents(
            node.ToString(),
            session.ToString(),
            DateTimeOffset.FromUnixTimeSeconds(long.Parse(issued, NumberStyles.None, CultureInfo.InvariantCulture)),
            key);
        return true;
    }

    internal static bool IsToken(ReadOnlySpan<char> value, int maxLength)
    {
        if (value.Length == 0 || value.Length > maxLength)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '-' || c == '_'))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsDigits(ReadOnlySpan<char> value)
    {
        foreach (var c in value)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return true;
    }

    private static void Mac(StickyKey key, ReadOnlySpan<char> body, Span<byte> destination)
    {
        // The body is ASCII by construction (checked tokens and digits), so one byte per character.
        Span<byte> bytes = stackalloc byte[MaxLength];
        var length = Encoding.ASCII.GetBytes(body, bytes);
        var hmac = MacCache.Rent(key.Secret);
        try
        {
            hmac.AppendData(bytes[..length]);
            hmac.GetHashAndReset(destination);
        }
        catch
        {
            // Never hand a half-fed instance to the next ticket.
            MacCache.Drop(hmac);
            throw;
        }
    }

    /// <summary>
    /// A few keyed HMAC instances per thread: a one-shot HMAC sets the key up again on every call, which costs more than
    /// the hash of a ticket itself. Keyed by the secret's bytes, so a ring that rotates or a secret replaced in place
    /// simply gets a new instance; at most <see cref="Slots"/> per thread, the least recently added replaced first.
    /// </summary>
    private static class MacCache
    {
        private const int Slots = 4;

        [ThreadStatic]
        private static Slot?[]? t_slots;

        [ThreadStatic]
        private static int t_next;

        public static IncrementalHash Rent(byte[] secret)
        {
            var slots = t_slots ??= new Slot[Slots];
            foreach (var slot in slots)
            {
                if (slot is not null && slot.Secret.AsSpan().SequenceEqual(secret))
                {
                    return slot.Hmac;
                }
            }

            var i = t_next;
            t_next = (i + 1) % Slots;
            slots[i]?.Hmac.Dispose();
            var created = new Slot((byte[])secret.Clone(), IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, secret));
            slots[i] = created;
            return created.Hmac;
        }

        public static void Drop(IncrementalHash hmac)
        {
            var slots = t_slots!;
            for (var i = 0; i < slots.Length; i++)
            {
                if (slots[i]?.Hmac == hmac)
                {
                    slots[i] = null;
                    hmac.Dispose();
                }
            }
        }

        private sealed record Slot(byte[] Secret, IncrementalHash Hmac);
    }

    internal readonly record struct Contents(string NodeId, string SessionId, DateTimeOffset IssuedAt, StickyKey Key);
}
