using System;
using System.Buffers;
using System.Collections.Generic;
using System.IO.Pipelines;
using System.Threading.Tasks;

namespace StateKit.AspNetCore;

/// <summary>
/// Bytes a handler wrote through the body's pipe writer (<c>GetMemory</c>/<c>Advance</c>) before the response started:
/// held in arrays rented from the pool, handed to the server's writer once the commit is done, then returned. JSON
/// results write this way, so a plain growable array here cost each such response a fresh buffer (1.8x the allocation of
/// a 1 KB JSON response, and the whole body more than once for a large one: <c>ResponseBodyBenchmarks</c>).
/// </summary>
internal sealed class PendingBodyBuffer
{
    private const int MinimumSegmentBytes = 4096;
    private byte[]? _current;
    private int _used;
    private List<(byte[] Array, int Count)>? _full;

    /// <summary>Gets the number of bytes written and not yet handed over.</summary>
    public long Count { get; private set; }

    public Memory<byte> GetMemory(int sizeHint)
    {
        var current = Reserve(sizeHint);
        return current.AsMemory(_used);
    }

    public Span<byte> GetSpan(int sizeHint)
    {
        var current = Reserve(sizeHint);
        return current.AsSpan(_used);
    }

    public void Advance(int bytes)
    {
        if (bytes < 0 || (bytes > 0 && (_current is null || _used + bytes > _current.Length)))
        {
            throw new ArgumentOutOfRangeException(nameof(bytes), "Advanced past the memory GetMemory/GetSpan returned.");
        }

        _used += bytes;
        Count += bytes;
    }

    /// <summary>
    /// Writes every byte held here to <paramref name="writer"/>, one flushed write per segment, and returns the arrays to
    /// the pool. Flushed, because a server's writer takes a large body unflushed into buffers of its own: 1 MB of JSON
    /// written in one go cost 800 KB of new arrays per response, past what the pool keeps at hand.
    /// </summary>
    public async Task MoveToAsync(PipeWriter writer)
    {
        try
        {
            if (_full is not null)
            {
                foreach (var (array, count) in _full)
                {
                    await writer.WriteAsync(array.AsMemory(0, count)).ConfigureAwait(false);
                }
            }

            if (_current is not null && _used > 0)
            {
                await writer.WriteAsync(_current.AsMemory(0, _used)).ConfigureAwait(false);
            }
        }
        finally
        {
            Release();
        }
    }

    /// <summary>Drops what is held (the response failed or was abandoned) and returns the arrays to the pool.</summary>
    public void Release()
    {
        if (_full is not null)
        {
            foreach (var (array, _) in _full)
            {
                ArrayPool<byte>.Shared.Return(array);
            }

            _full = null;
        }

        if (_current is not null)
        {
            ArrayPool<byte>.Shared.Return(_current);
            _current = null;
        }

        _used = 0;
        Count = 0;
    }

    private byte[] Reserve(int sizeHint)
    {
        var needed = Math.Max(sizeHint, 1);
        if (_current is not null && _current.Length - _used >= needed)
        {
            return _current;
        }

        if (_current is not null)
        {
            if (_used > 0)
            {
                (_full ??= []).Add((_current, _used));
            }
            else
            {
                ArrayPool<byte>.Shared.Return(_current);
            }
        }

        _current = ArrayPool<byte>.Shared.Rent(Math.Max(needed, MinimumSegmentBytes));
        _used = 0;
        return _current;
    }
}
