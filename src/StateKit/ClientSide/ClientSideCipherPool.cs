using System;
using System.Security.Cryptography;
using System.Threading;

namespace StateKit.ClientSide;

/// <summary>
/// A small pool of <see cref="AesGcm"/> instances over one AES-256 key. An instance is not safe to share between threads,
/// and building one per ticket costs a key schedule and a native context; a pool costs neither.
/// </summary>
/// <remarks>
/// The pool is a fixed array of slots taken and given back with one compare-exchange each (the design of
/// Microsoft.Extensions.ObjectPool's default pool). A ConcurrentBag took a lock to hand out its last item and
/// froze the whole bag to count it, on every seal and every open.
/// </remarks>
internal sealed class ClientSideCipherPool
{
    private readonly byte[] _key;

    // Bounded: more idle instances than twice the cores only ever sit there.
    private readonly AesGcm?[] _slots;

    /// <param name="key">The 32-byte key; the pool keeps this array.</param>
    public ClientSideCipherPool(byte[] key)
    {
        _key = key;
        _slots = new AesGcm?[Environment.ProcessorCount * 2];
    }

    /// <summary>Gets how many instances wait in the pool; for tests.</summary>
    internal int IdleCount
    {
        get
        {
            var count = 0;
            foreach (var slot in _slots)
            {
                count += slot is null ? 0 : 1;
            }

            return count;
        }
    }

    /// <summary>Takes an instance no other caller holds until it is returned.</summary>
    public AesGcm Rent()
    {
        var slots = _slots;
        for (var i = 0; i < slots.Length; i++)
        {
            var aes = slots[i];
            if (aes is not null && Interlocked.CompareExchange(ref slots[i], null, aes) == aes)
            {
                return aes;
            }
        }

        return new AesGcm(_key, ClientSideTicketFormat.TagSize);
    }

    /// <summary>Gives an instance back; the caller must not use it afterwards.</summary>
    public void Return(AesGcm aes)
    {
        var slots = _slots;
        for (var i = 0; i < slots.Length; i++)
        {
            if (slots[i] is null && Interlocked.CompareExchange(ref slots[i], aes, null) is null)
            {
                return;
            }
        }

        aes.Dispose();
    }
}
