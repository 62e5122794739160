using System;
using System.Collections.Generic;
using System.Text;

namespace StateKit;

/// <summary>
/// The delta semantics and the size measure every store shares. For store authors: applying a <see cref="SessionCommit"/>
/// through here is what makes a new store behave like the others.
/// </summary>
public static class SessionPayload
{
    /// <summary>Measures a session against <see cref="SessionStoreOptions.MaxPayloadBytes"/>: the UTF-8 bytes of every key plus the bytes of every value.</summary>
    /// <param name="values">The session's values.</param>
    /// <returns>The size, in bytes.</returns>
    public static long Size(IReadOnlyDictionary<string, ReadOnlyMemory<byte>> values)
    {
        if (values is Dictionary<string, ReadOnlyMemory<byte>> dictionary)
        {
            return Size(dictionary);
        }

        if (values is IMeasuredPayload measured)
        {
            return measured.PayloadBytes;
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

    /// <summary>
    /// Applies a commit's delta to a copy of <paramref name="current"/>: <see cref="SessionCommit.ClearExisting"/> first,
    /// then <see cref="SessionCommit.Removals"/>, then <see cref="SessionCommit.Upserts"/> (copied, since the caller may
    /// reuse its buffers — except the arrays a <see cref="StateSession"/> hands over, which it never touches again). The
    /// original is never mutated.
    /// </summary>
    /// <param name="current">The stored values, or <see langword="null"/> for a new session.</param>
    /// <param name="commit">The commit.</param>
    /// <returns>The session's values after the commit.</returns>
    public static Dictionary<string, ReadOnlyMemory<byte>> Apply(IReadOnlyDictionary<string, ReadOnlyMemory<byte>>? current, SessionCommit commit)
        => ApplyCore(current, commit, borrowUpserts: false);

    /// <summary>
    /// <see cref="Apply(IReadOnlyDictionary{string, ReadOnlyMemory{byte}}, SessionCommit)"/> keeping the caller's upsert buffers
    /// instead of copying them: only for a store that is done with the values before the commit returns (one that serializes
    /// them and keeps nothing, like the client-side store), since the caller may reuse its buffers then.
    /// </summary>
    internal static Dictionary<string, ReadOnlyMemory<byte>> ApplyBorrowingUpserts(IReadOnlyDictionary<string, ReadOnlyMemory<byte>>? current, SessionCommit commit)
        => ApplyCore(current, commit, borrowUpserts: true);

    private static Dictionary<string, ReadOnlyMemory<byte>> ApplyCore(IReadOnlyDictionary<string, ReadOnlyMemory<byte>>? current, SessionCommit commit, bool borrowUpserts)
    {
        ArgumentNullException.ThrowIfNull(commit);

        // Copy unless nobody will write the arrays again (StateSession's own copies) or the store is done with them before it
        // returns: a caller owns its buffers and may reuse them after the commit returns.
        var copy = !borrowUpserts && !commit.UpsertsAreImmutable;
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
                values[key] = copy ? value.ToArray() : value;
            }
        }
        else
        {
            foreach (var (key, value) in commit.Upserts)
            {
                values[key] = copy ? value.ToArray() : value;
            }
        }

        return values;
    }
}
