using System;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace StateKit.AspNetCore;

/// <summary>
/// One key's value while a batch applies: the stored JSON bytes, parsed at most once into a <see cref="JsonNode"/> that
/// the batch's counter and set operations change in place, and written back to bytes once, when asked.
/// </summary>
internal sealed class SyncValue(ReadOnlyMemory<byte>? stored)
{
    private ReadOnlyMemory<byte>? _bytes = stored;
    private JsonNode? _node;
    private bool _parsed;
    private bool _bytesStale;

    /// <summary>Gets a value indicating whether the key exists (a JSON <c>null</c> value exists).</summary>
    public bool Exists { get; private set; } = stored is not null;

    /// <summary>Gets the value as the session stores it, or <see langword="null"/> when the key is absent.</summary>
    public ReadOnlyMemory<byte>? Bytes
    {
        get
        {
            if (_bytesStale)
            {
                _bytes = SyncMerges.ToBytes(_node);
                _bytesStale = false;
            }

            return _bytes;
        }
    }

    /// <summary>Parses the value once; false when the stored bytes are not one JSON value (raw bytes a handler wrote).</summary>
    public bool TryGetNode(out JsonNode? node)
    {
        if (!_parsed)
        {
            try
            {
                _node = _bytes is { } bytes ? JsonNode.Parse(bytes.Span) : null;
            }
            catch (JsonException)
            {
                node = null;
                return false;
            }

            _parsed = true;
        }

        node = _node;
        return true;
    }

    /// <summary>The value is now <paramref name="node"/>, changed in place or new.</summary>
    public void Changed(JsonNode? node)
    {
        _node = node;
        _parsed = true;
        _bytesStale = true;
        Exists = true;
    }

    /// <summary>The value is now these bytes (a <c>set</c>), or absent (<see langword="null"/>, a <c>remove</c>).</summary>
    public void Replace(byte[]? bytes)
    {
        // Not `_bytes = bytes`: a null array converts to an empty ReadOnlyMemory, which would read as present.
        _bytes = bytes is null ? null : (ReadOnlyMemory<byte>?)bytes;
        Exists = bytes is not null;
        _node = null;
        _parsed = false;
        _bytesStale = false;
    }
}
