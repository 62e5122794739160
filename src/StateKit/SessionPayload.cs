using System;
using System.Collections.Generic;
using System.Text;

namespace StateKit;

/// <summary>How every store measures a session against <see cref="SessionStoreOptions.MaxPayloadBytes"/>.</summary>
internal static class SessionPayload
{
    /// <summary>The UTF-8 bytes of every key plus the bytes of every value: what the application chose to store.</summary>
    public static long Size(IReadOnlyDictionary<string, ReadOnlyMemory<byte>> values)
    {
        if (values is Dictionary<string, ReadOnlyMemory<byte>> dictionary)
        {
            return Size(dictionary);
        }

        long size = 0;
        foreach (var (key, value) in values)
        {
            size += Encoding.UTF8.GetByteCount(key) + value.Length;
        }

        return size;
    }

    /// <summary>The same, over the concrete type stores build, so that the hot path enumerates without boxing.</summary>
    public static long Size(Dictionary<string, ReadOnlyMemory<byte>> values)
    {
        long size = 0;
        foreach (var (key, value) in values)
        {
            size += Encoding.UTF8.GetByteCount(key) + value.Length;
        }

        return size;
    }

    /// <summary>Applies a commit's delta to a copy of <paramref name="current"/>; the original is never mutated.</summary>
    /// <remarks>
    /// Enumerates the concrete dictionaries and sets <see cref="StateSession"/> builds without boxing their enumerators, and keeps
    /// the session's own value arrays (<see cref="SessionCommit.UpsertsAreImmutable"/>) instead of copying them a second time.
    /// </remarks>
    public static Dictionary<string, ReadOnlyMemory<byte>> Apply(IReadOnlyDictionary<string, ReadOnlyMemory<byte>>? current, SessionCommit commit)
    {
        var values = new Dictionary<string, ReadOnlyMemory<byte>>((current?.Count ?? 0) + commit.Upserts.Count, StringComparer.Ordinal);
        if (current is not null && !commit.ClearExisting)
        {
            if (current is Dictionary<string, ReadOnlyMemory<byte>> dictionary)
            {
                foreach (var (key, value) in dictionary)
                {
                    values[key] = value;
                }
            }
            else
            {
                foreach (var (key, value) in current)
                {
                    values[key] = value;
                }
            }
        }

        if (commit.Removals.Count > 0)
        {
            foreach (var key in commit.Removals)
            {
                values.Remove(key);
            }
        }

        if (commit.Upserts is Dictionary<string, ReadOnlyMemory<byte>> upserts)
        {
            foreach (var (key, value) in upserts)
            {
                values[key] = Own(value, commit);
            }
        }
        else
        {
            foreach (var (key, value) in commit.Upserts)
            {
                values[key] = Own(value, commit);
            }
        }

        return values;
    }

    // Copy unless the commit says nobody will write the array again: a caller owns its buffers and may reuse them after the commit returns.
    private static ReadOnlyMemory<byte> Own(ReadOnlyMemory<byte> value, SessionCommit commit)
        => commit.UpsertsAreImmutable ? value : value.ToArray();
}
