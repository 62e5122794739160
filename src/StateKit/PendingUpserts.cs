using System;
using System.Collections;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;

namespace StateKit;

/// <summary>
/// The keys one <see cref="StateSession"/> set, in the order it set them. A request usually sets one key: it lives in a field,
/// further keys in an array, searched linearly, with no hashing, where a dictionary costs three allocations and a hash per
/// access. Many keys switch to a dictionary index so that a request writing hundreds stays linear.
/// </summary>
internal sealed class PendingUpserts : IReadOnlyDictionary<string, ReadOnlyMemory<byte>>
{
    private const int LinearSearchMax = 8;

    private KeyValuePair<string, ReadOnlyMemory<byte>> _first;
    private KeyValuePair<string, ReadOnlyMemory<byte>>[]? _rest;
    private Dictionary<string, int>? _index;

    public int Count { get; private set; }

    public IEnumerable<string> Keys
    {
        get
        {
            for (var i = 0; i < Count; i++)
            {
                yield return Slot(i).Key;
            }
        }
    }

    public IEnumerable<ReadOnlyMemory<byte>> Values
    {
        get
        {
            for (var i = 0; i < Count; i++)
            {
                yield return Slot(i).Value;
            }
        }
    }

    public ReadOnlyMemory<byte> this[string key] => TryGetValue(key, out var value) ? value : throw new KeyNotFoundException($"No pending write of key '{key}'.");

    public KeyValuePair<string, ReadOnlyMemory<byte>> At(int index) => Slot(index);

    public void Set(string key, ReadOnlyMemory<byte> value)
    {
        var at = IndexOf(key);
        if (at >= 0)
        {
            Slot(at) = new(key, value);
            return;
        }

        if (Count > 0 && (_rest is null || Count - 1 == _rest.Length))
        {
            Array.Resize(ref _rest, Math.Max(2, Count * 2));
        }

        Slot(Count) = new(key, value);
        _index?.Add(key, Count);
        Count++;
        if (_index is null && Count > LinearSearchMax)
        {
            _index = new Dictionary<string, int>(Count * 2, StringComparer.Ordinal);
            for (var i = 0; i < Count; i++)
            {
                _index.Add(Slot(i).Key, i);
            }
        }
    }

    public bool Remove(string key)
    {
        var at = IndexOf(key);
        if (at < 0)
        {
            return false;
        }

        Count--;
        for (var i = at; i < Count; i++)
        {
            Slot(i) = Slot(i + 1);
        }

        Slot(Count) = default;
        if (_index is not null)
        {
            _index.Remove(key);
            for (var i = at; i < Count; i++)
            {
                _index[Slot(i).Key] = i;
            }
        }

        return true;
    }

    public void Clear()
    {
        _first = default;
        if (_rest is not null)
        {
            Array.Clear(_rest);
        }

        Count = 0;
        _index = null;
    }

    public bool ContainsKey(string key) => IndexOf(key) >= 0;

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out ReadOnlyMemory<byte> value)
    {
        var at = IndexOf(key);
        if (at < 0)
        {
            value = default;
            return false;
        }

        value = Slot(at).Value;
        return true;
    }

    public IEnumerator<KeyValuePair<string, ReadOnlyMemory<byte>>> GetEnumerator()
    {
        for (var i = 0; i < Count; i++)
        {
            yield return Slot(i);
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private int IndexOf(string key)
    {
        if (_index is not null)
        {
            return _index.TryGetValue(key, out var at) ? at : -1;
        }

        for (var i = 0; i < Count; i++)
        {
            if (string.Equals(Slot(i).Key, key, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    private ref KeyValuePair<string, ReadOnlyMemory<byte>> Slot(int index) => ref index == 0 ? ref _first : ref _rest![index - 1];
}
