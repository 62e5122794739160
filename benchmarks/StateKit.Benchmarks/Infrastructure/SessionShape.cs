using System;
using System.Collections.Generic;

namespace StateKit.Benchmarks.Infrastructure;

/// <summary>
/// The session every strategy holds: a 128-byte <c>cart</c> (the key a request changes) plus filler keys of up to 1 KB each,
/// <see cref="PayloadBytes"/> of values in all. Values are random bytes, so nothing compresses and every strategy carries the
/// same bytes.
/// </summary>
public sealed class SessionShape
{
    public const string CartKey = "cart";
    public const int CartBytes = 128;

    public SessionShape(int payloadBytes)
    {
        PayloadBytes = payloadBytes;
        var random = new Random(42);
        CartA = new byte[CartBytes];
        CartB = new byte[CartBytes];
        random.NextBytes(CartA);
        random.NextBytes(CartB);
        var filler = new List<KeyValuePair<string, byte[]>>();
        var remaining = payloadBytes - CartBytes;
        for (var i = 0; remaining > 0; i++)
        {
            var chunk = new byte[Math.Min(1024, remaining)];
            random.NextBytes(chunk);
            filler.Add(new("f" + i, chunk));
            remaining -= chunk.Length;
        }

        Filler = filler;
        BlobA = Blob(CartA);
        BlobB = Blob(CartB);
    }

    public int PayloadBytes { get; }

    public byte[] CartA { get; }

    public byte[] CartB { get; }

    public IReadOnlyList<KeyValuePair<string, byte[]>> Filler { get; }

    /// <summary>Gets the whole session as one blob (for the raw GET/SET floors), with cart A.</summary>
    public byte[] BlobA { get; }

    /// <summary>Gets the whole session as one blob, with cart B.</summary>
    public byte[] BlobB { get; }

    public IEnumerable<KeyValuePair<string, byte[]>> All()
    {
        yield return new(CartKey, CartA);
        foreach (var f in Filler)
        {
            yield return f;
        }
    }

    private byte[] Blob(byte[] cart)
    {
        var blob = new byte[PayloadBytes];
        cart.CopyTo(blob, 0);
        var offset = cart.Length;
        foreach (var (_, value) in Filler)
        {
            value.CopyTo(blob, offset);
            offset += value.Length;
        }

        return blob;
    }
}
