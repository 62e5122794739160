using System;
using System.Collections;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;

namespace StateKit;

/// <summary>
/// The keys one <see cref="StateSession"/> set, in the order it set them. A request sets one or two keys: an array searched
/// linearly costs one small allocation and no hashing, where a dictionary costs three allocations and a hash per access.
/// Many keys switch to a dictionary index so that a request writing hundreds stays linear.
/// </summary>
internal sealed class PendingUpserts : IReadOnlyDictionary<string, ReadOnlyMemory<byte>>
{
    private const int LinearSearchMax = 8;

    private KeyValuePair<string, ReadOnlyMemory<byte>>[] _items = new KeyValuePair<string, ReadOnlyMemory<byte>>[2];
    private Dictionary<string, int>? _index;

    public int Count { get; private set; }

    public IEnumerable<string> Keys
    {
        get
        {
            for (var i = 0; i < Count; i++)
            {
                yield return _items[i].Key;
            }
        }
    }

    public IEnumerable<ReadOnlyMemory<byte>> Values
    {
        get
        {
            for (var i = 0; i < Count; i++)
            {
                yield return _items[i].Value;
            }
        }
    }

    public ReadOnlyMemory<byte> this[string key] => TryGetValue(key, out var value) ? value : throw new KeyNotFoundException($"No pending write of key '{key}'.");

    public KeyValuePair<string, ReadOnlyMemory<byte>> At(int index) => _items[index];

    public void Set(string key, ReadOnlyMemory<byte> value)
    {
        var at = IndexOf(key);
        if (at >= 0)
        {
            _items[at] = new(key, value);
            return;
        }

        if (Count == _items.Length)
        {
            Array.Resize(ref _items, Count * 2);
        }

        _items[Count] = new(key, value);
        _index?.Add(key, Count);
        Count++;
        if (_index is null && Count > LinearSearchMax)
        {
            _index = new Dictionary<string, int>(Count * 2, StringComparer.Ordinal);
            for (var i = 0; i < Count; i++)
            {
                _index.Add(_items[i].Key, i);
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
        Array.Copy(_items, at + 1, _items, at, Count - at);
        _items[Count] = default;
        if (_index is not null)
        {
            _index.Remove(key);
            for (var i = at; i < Count; i++)
            {
                _index[_items[i].Key] = i;
            }
        }

        return true;
    }

    public void Clear()
    {
        Array.Clear(_items, 0, Count);
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

        value = _items[at].Value;
        return true;
    }

    public IEnumerator<KeyValuePair<string, ReadOnlyMemory<byte>>> GetEnumerator()
    {
        for (var i = 0; i < Count; i++)
        {
            yield return _items[i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private int IndexOf(string key)
    {
        if (_index is not null)
        {
            return _index.TryGetValue(key, out var at) ? at : -1;
        }

        var items = _items;
        for (var i = 0; i < Count; i++)
        {
            if (string.Equals(items[i].Key, key, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }
}
