using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Security.Cryptography;

namespace StateKit.ClientSide;

/// <summary>The store's keys, ready to use: the current one seals, all of them open. Immutable once built.</summary>
internal sealed class ClientSideKeyRing
{
    private readonly Dictionary<int, Key> _keys;

    public ClientSideKeyRing(IEnumerable<(int Id, byte[] Material)> keys)
    {
        _keys = [];
        foreach (var (id, material) in keys)
        {
            var key = new Key(id, material);
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
    internal sealed class Key(int id, byte[] material)
    {
        private readonly ConcurrentBag<AesGcm> _pool = [];
        private readonly byte[] _material = material;

        public int Id { get; } = id;

        public AesGcm Rent() => _pool.TryTake(out var aes) ? aes : new AesGcm(_material, ClientSideTicketFormat.TagSize);

        public void Return(AesGcm aes)
        {
            // Bounded: more instances than cores only ever sit idle.
            if (_pool.Count < Environment.ProcessorCount * 2)
            {
                _pool.Add(aes);
            }
            else
            {
                aes.Dispose();
            }
        }
    }
}
