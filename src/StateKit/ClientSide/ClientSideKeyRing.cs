using System;
using System.Collections.Generic;
using System.Security.Cryptography;
using System.Threading;

namespace StateKit.ClientSide;

/// <summary>The store's keys, ready to use: the current one seals, all of them open. Immutable once built.</summary>
internal sealed class ClientSideKeyRing
{
    private readonly Dictionary<int, Key> _keys;

    /// <param name="keys">The keys.</param>
    /// <param name="purposeData">The store's domain label and purpose (<see cref="ClientSideTicketFormat.CreatePurposeData"/>), which every key's associated data ends with.</param>
    public ClientSideKeyRing(IEnumerable<(int Id, byte[] Material)> keys, ReadOnlySpan<byte> purposeData)
    {
        _keys = [];
        foreach (var (id, material) in keys)
        {
            var key = new Key(id, material, ClientSideTicketFormat.CreateAssociatedData(id, purposeData));
            _keys.Add(id, key);
            if (Current is null || id > Current.Id)
            {
                Current = key;
            }
        }

        if (Current is null)
        {
            throw new ArgumentException("A key ring needs at least one key.", nameof(keys));
        }
    }

    /// <summary>Gets the key that seals: the one with the highest id.</summary>
    public Key Current { get; } = null!;

    public bool TryGet(int id, out Key key) => _keys.TryGetValue(id, out key!);

    /// <summary>
    /// One key and a small pool of <see cref="AesGcm"/> instances over it. An instance is not safe to share between
    /// threads, and building one per ticket costs a key schedule and a native context; a pool costs neither.
    /// </summary>
    /// <remarks>
    /// The pool is a fixed array of slots taken and given back with one compare-exchange each (the design of
    /// Microsoft.Extensions.ObjectPool's default pool). A ConcurrentBag took a lock to hand out its last item and
    /// froze the whole bag to count it, on every seal and every open.
    /// </remarks>
    internal sealed class Key
    {
        private readonly byte[] _material;

        // Bounded: more idle instances than twice the cores only ever sit there.
        private readonly AesGcm?[] _slots;

        public Key(int id, byte[] material, byte[] associatedData)
        {
            Id = id;
            _material = material;
            AssociatedData = associatedData;
            _slots = new AesGcm?[Environment.ProcessorCount * 2];
        }

        public int Id { get; }

        /// <summary>Gets the associated data of every ticket this key seals for this store: version, key id, domain label and purpose.</summary>
        public byte[] AssociatedData { get; }

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

            return new AesGcm(_material, ClientSideTicketFormat.TagSize);
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
}
