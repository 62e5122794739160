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
    /// <param name="purpose">The store's purpose, which every key's associated data ends with.</param>
    /// <param name="saltSource">Where a new sealing subkey's salt comes from: the OS CSPRNG outside byte-snapshot tests.</param>
    public ClientSideKeyRing(IEnumerable<(int Id, byte[] Material)> keys, string purpose, ClientSideSessionStore.SpanAction? saltSource = null)
    {
        _keys = [];
        saltSource ??= RandomNumberGenerator.Fill;
        foreach (var (id, material) in keys)
        {
            var key = new Key(id, material, purpose, saltSource);
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
    /// One key of the ring: the version-1 cipher over the key itself (open only), and the version-2 subkeys derived from it
    /// with HKDF, one per salt (docs/client-held.md, "Nonces and subkeys").
    /// </summary>
    internal sealed class Key
    {
        /// <summary>
        /// How many tickets one subkey seals before the key rolls to a fresh salt. With random 96-bit nonces, q seals under
        /// one subkey repeat a nonce with probability at most q^2 / 2^97; 2^16 keeps that at 2^-65 per subkey, and n seals
        /// over all subkeys at n / 2^81. A roll costs one HKDF and one AES key schedule per 65,536 seals.
        /// </summary>
        internal const int SealsPerSubkey = 1 << 16;

        // Subkeys of recently opened tickets by salt, direct-mapped: only a salt whose ticket authenticated gets a slot, so
        // forged tickets cannot evict anything. A miss costs one HKDF and one key schedule.
        private const int OpenedSubkeySlots = 64;

        private readonly byte[] _material;
        private readonly ClientSideSessionStore.SpanAction _saltSource;
        private readonly Subkey?[] _opened = new Subkey?[OpenedSubkeySlots];
        private Subkey? _sealing;

        public Key(int id, byte[] material, string purpose, ClientSideSessionStore.SpanAction saltSource)
        {
            Id = id;
            _material = material;
            _saltSource = saltSource;
            AssociatedData = ClientSideTicketFormat.CreateAssociatedData(ClientSideTicketFormat.CurrentVersion, id, purpose);
            Version1AssociatedData = ClientSideTicketFormat.CreateAssociatedData(ClientSideTicketFormat.Version1, id, purpose);
            Version1Ciphers = new ClientSideCipherPool(material);
        }

        public int Id { get; }

        /// <summary>Gets the associated data of every ticket this key seals for this store: version, key id, domain label and purpose.</summary>
        public byte[] AssociatedData { get; }

        /// <summary>Gets the associated data of a version-1 ticket of this key, which it only opens.</summary>
        public byte[] Version1AssociatedData { get; }

        /// <summary>Gets the ciphers over the key itself, which only open version-1 tickets.</summary>
        public ClientSideCipherPool Version1Ciphers { get; }

        /// <summary>Takes one seal of the current subkey's budget, rolling to a subkey of a fresh salt when it is spent.</summary>
        public Subkey TakeSealingSubkey()
        {
            while (true)
            {
                var current = Volatile.Read(ref _sealing);
                if (current is not null && Interlocked.Decrement(ref current.SealsLeft) >= 0)
                {
                    return current;
                }

                var salt = new byte[ClientSideTicketFormat.SaltSize];
                _saltSource(salt);
                var fresh = Derive(salt, SealsPerSubkey);
                if (Interlocked.CompareExchange(ref _sealing, fresh, current) == current)
                {
                    // This node's own tickets come back first: their subkey is already there when they do.
                    Remember(fresh);
                }
            }
        }

        /// <summary>Finds the subkey of a salt among those recently opened, or derives it; <paramref name="cached"/> says which.</summary>
        public Subkey GetSubkey(ReadOnlySpan<byte> salt, out bool cached)
        {
            var slot = Volatile.Read(ref _opened[salt[0] % OpenedSubkeySlots]);
            if (slot is not null && salt.SequenceEqual(slot.Salt))
            {
                cached = true;
                return slot;
            }

            cached = false;
            return Derive(salt.ToArray(), sealsLeft: 0);
        }

        /// <summary>Keeps a subkey whose ticket authenticated, for the next ticket of its salt.</summary>
        public void Remember(Subkey subkey) => Volatile.Write(ref _opened[subkey.Salt[0] % OpenedSubkeySlots], subkey);

        private Subkey Derive(byte[] salt, int sealsLeft)
        {
            var subkey = new byte[ClientSideKey.KeySizeInBytes];
            HKDF.DeriveKey(HashAlgorithmName.SHA256, _material, subkey, salt, ClientSideTicketFormat.SubkeyInfo);
            return new Subkey(salt, new ClientSideCipherPool(subkey), sealsLeft);
        }
    }

    /// <summary>A key derived from a ring key and a salt: HKDF-SHA256(key, salt, "StateKit.ClientSide.v2 subkey"), 32 bytes.</summary>
    internal sealed class Subkey
    {
        /// <summary>How many more tickets this subkey may seal; zero for a subkey derived to open.</summary>
        internal int SealsLeft;

        public Subkey(byte[] salt, ClientSideCipherPool ciphers, int sealsLeft)
        {
            Salt = salt;
            Ciphers = ciphers;
            SealsLeft = sealsLeft;
        }

        public byte[] Salt { get; }

        public ClientSideCipherPool Ciphers { get; }
    }
}
