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
        long size = 0;
        foreach (var (key, value) in values)
        {
            size += Encoding.UTF8.GetByteCount(key) + value.Length;
        }

        return size;
    }

    /// <summary>Applies a commit's delta to a copy of <paramref name="current"/>; the original is never mutated.</summary>
    public static Dictionary<string, ReadOnlyMemory<byte>> Apply(IReadOnlyDictionary<string, ReadOnlyMemory<byte>>? current, SessionCommit commit)
    {
        var values = new Dictionary<string, ReadOnlyMemory<byte>>((current?.Count ?? 0) + commit.Upserts.Count, StringComparer.Ordinal);
        if (current is not null && !commit.ClearExisting)
        {
            foreach (var (key, value) in current)
            {
                values[key] = value;
            }
        }

        foreach (var key in commit.Removals)
        {
            values.Remove(key);
        }

        foreach (var (key, value) in commit.Upserts)
        {
            // Copy: the caller owns its buffers and may reuse them after the commit returns.
            values[key] = value.ToArray();
        }

        return values;
    }
}
