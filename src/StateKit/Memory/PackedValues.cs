using System;
using System.Collections;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace StateKit.Memory;

/// <summary>
/// A session's values as the in-memory store keeps them: immutable, so a snapshot can hand them to readers as they are.
/// </summary>
/// <remarks>
/// A commit that only changes values of keys the session already has (the common request) shares the key set with the
/// previous version and copies one array of values: no hashing, no dictionary rebuilt, and the payload size is updated
/// by difference instead of re-measured. Only a commit that adds or removes keys builds a new <see cref="KeySet"/>.
/// </remarks>
internal sealed class PackedValues : IReadOnlyDictionary<string, ReadOnlyMemory<byte>>, IMeasuredPayload
{
    public static readonly PackedValues Empty = new(KeySet.Empty, [], 0);

    private readonly KeySet _keys;
    private readonly ReadOnlyMemory<byte>[] _values;

    private PackedValues(KeySet keys, ReadOnlyMemory<byte>[] values, long payloadBytes)
    {
        _keys = keys;
        _values = values;
        PayloadBytes = payloadBytes;
    }

    /// <summary>Gets the size <see cref="SessionPayload.Size(IReadOnlyDictionary{string, ReadOnlyMemory{byte}})"/> would measure, kept up to date by every change.</summary>
    public long PayloadBytes { get; }

    public int Count => _values.Length;

    public IEnumerable<string> Keys => _keys.Names;

    public IEnumerable<ReadOnlyMemory<byte>> Values => _values;

    public ReadOnlyMemory<byte> this[string key] => TryGetValue(key, out var value) ? value : throw new KeyNotFoundException($"The session has no key '{key}'.");

    /// <summary>Copies any dictionary (a backup's session being imported): values are kept, not copied, as snapshots promise immutability.</summary>
    public static PackedValues From(IReadOnlyDictionary<string, ReadOnlyMemory<byte>> values)
    {
        if (values is PackedValues packed)
        {
            return packed;
        }

        var names = new string[values.Count];
        var array = new ReadOnlyMemory<byte>[values.Count];
        var i = 0;
        long valueBytes = 0;
        foreach (var (key, value) in values)
        {
            names[i] = key;
            array[i++] = value;
            valueBytes += value.Length;
        }

        var keys = new KeySet(names);
        return new PackedValues(keys, array, keys.Utf8Bytes + valueBytes);
    }

    /// <summary>
    /// The values after <paramref name="commit"/>, with exactly <see cref="SessionPayload.Apply"/>'s semantics (clear, then
    /// removals, then upserts, copied unless the commit says they are immutable). <paramref name="current"/> is not changed.
    /// </summary>
    public static PackedValues Apply(PackedValues? current, SessionCommit commit)
    {
        var baseValues = current is null || commit.ClearExisting ? Empty : current;
        var removesAny = false;
        if (commit.Removals.Count > 0 && baseValues.Count > 0)
        {
            foreach (var key in commit.Removals)
            {
                if (baseValues._keys.IndexOf(key) >= 0)
                {
                    removesAny = true;
                    break;
                }
            }
        }

        var upserts = commit.Upserts;
        if (!removesAny && TryReplaceInPlace(baseValues, upserts, commit, out var replaced))
        {
            return replaced;
        }

        return Rebuild(baseValues, commit, removesAny);
    }

    public bool ContainsKey(string key) => _keys.IndexOf(key) >= 0;

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out ReadOnlyMemory<byte> value)
    {
        ArgumentNullException.ThrowIfNull(key);
        var index = _keys.IndexOf(key);
        if (index < 0)
        {
            value = default;
            return false;
        }

        value = _values[index];
        return true;
    }

    public IEnumerator<KeyValuePair<string, ReadOnlyMemory<byte>>> GetEnumerator()
    {
        var names = _keys.Names;
        for (var i = 0; i < names.Length; i++)
        {
            yield return new(names[i], _values[i]);
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Every key the commit writes exists already: share the key set, copy the value array, size by difference.</summary>
    private static bool TryReplaceInPlace(PackedValues baseValues, IReadOnlyDictionary<string, ReadOnlyMemory<byte>> upserts, SessionCommit commit, [NotNullWhen(true)] out PackedValues? result)
    {
        result = null;
        if (upserts.Count > baseValues.Count)
        {
            return false;
        }

        if (upserts.Count == 0)
        {
            // Nothing removed (removals named absent keys) and nothing written: the values are the same.
            result = baseValues;
            return true;
        }

        ReadOnlyMemory<byte>[]? values = null;
        var payload = baseValues.PayloadBytes;
        if (upserts is PendingUpserts pending)
        {
            for (var i = 0; i < pending.Count; i++)
            {
                var (key, value) = pending.At(i);
                if (!Replace(baseValues, key, value, commit, ref values, ref payload))
                {
                    return false;
                }
            }
        }
        else
        {
            foreach (var (key, value) in upserts)
            {
                if (!Replace(baseValues, key, value, commit, ref values, ref payload))
                {
                    return false;
                }
            }
        }

        result = new PackedValues(baseValues._keys, values!, payload);
        return true;
    }

    private static bool Replace(PackedValues baseValues, string key, ReadOnlyMemory<byte> value, SessionCommit commit, ref ReadOnlyMemory<byte>[]? values, ref long payload)
    {
        var index = baseValues._keys.IndexOf(key);
        if (index < 0)
        {
            return false;
        }

        if (values is null)
        {
            // Not Array.Clone: it allocates through the runtime's slow generic path, a quarter of a commit in the profile.
            values = new ReadOnlyMemory<byte>[baseValues._values.Length];
            baseValues._values.CopyTo(values, 0);
        }

        payload += value.Length - values[index].Length;
        values[index] = Own(value, commit);
        return true;
    }

    private static PackedValues Rebuild(PackedValues baseValues, SessionCommit commit, bool removesAny)
    {
        var names = new List<string>(baseValues.Count + commit.Upserts.Count);
        var values = new List<ReadOnlyMemory<byte>>(names.Capacity);
        HashSet<string>? removed = null;
        if (removesAny)
        {
            removed = new HashSet<string>(commit.Removals, StringComparer.Ordinal);
        }

        var baseNames = baseValues._keys.Names;
        for (var i = 0; i < baseNames.Length; i++)
        {
            if (removed is null || !removed.Contains(baseNames[i]))
            {
                names.Add(baseNames[i]);
                values.Add(baseValues._values[i]);
            }
        }

        // Lookups go through a dictionary here: a commit that adds keys may add many.
        var index = new Dictionary<string, int>(names.Count + commit.Upserts.Count, StringComparer.Ordinal);
        for (var i = 0; i < names.Count; i++)
        {
            index[names[i]] = i;
        }

        foreach (var (key, value) in commit.Upserts)
        {
            var owned = Own(value, commit);
            if (index.TryGetValue(key, out var at))
            {
                values[at] = owned;
            }
            else
            {
                index[key] = names.Count;
                names.Add(key);
                values.Add(owned);
            }
        }

        if (names.Count == 0)
        {
            return Empty;
        }

        var keys = new KeySet([.. names]);
        var array = values.ToArray();
        long valueBytes = 0;
        foreach (var value in array)
        {
            valueBytes += value.Length;
        }

        return new PackedValues(keys, array, keys.Utf8Bytes + valueBytes);
    }

    // The same rule as SessionPayload.Apply: a caller owns its buffers and may reuse them after the commit returns.
    private static ReadOnlyMemory<byte> Own(ReadOnlyMemory<byte> value, SessionCommit commit)
        => commit.UpsertsAreImmutable ? value : value.ToArray();

    /// <summary>An immutable, ordered set of key names, shared by every version of a session until a commit adds or removes a key.</summary>
    private sealed class KeySet
    {
        public static readonly KeySet Empty = new([]);

        // A session with few keys is searched linearly (ordinal compares that mostly stop at the length); a dictionary
        // only pays for itself above that, and is built once per key set, not per commit.
        private const int LinearSearchMax = 8;

        private readonly Dictionary<string, int>? _index;

        public KeySet(string[] names)
        {
            Names = names;
            long utf8 = 0;
            foreach (var name in names)
            {
                utf8 += Encoding.UTF8.GetByteCount(name);
            }

            Utf8Bytes = utf8;
            if (names.Length > LinearSearchMax)
            {
                _index = new Dictionary<string, int>(names.Length, StringComparer.Ordinal);
                for (var i = 0; i < names.Length; i++)
                {
                    _index.Add(names[i], i);
                }
            }
        }

        public string[] Names { get; }

        public long Utf8Bytes { get; }

        public int IndexOf(string key)
        {
            if (_index is not null)
            {
                return _index.TryGetValue(key, out var at) ? at : -1;
            }

            var names = Names;
            for (var i = 0; i < names.Length; i++)
            {
                if (string.Equals(names[i], key, StringComparison.Ordinal))
                {
                    return i;
                }
            }

            return -1;
        }
    }
}
