using System.Collections.Generic;

namespace StateKit.AspNetCore;

/// <summary>A whole batch, validated before anything is applied: its operations in order, and the keys it asks to read.</summary>
internal sealed record SyncBatch(IReadOnlyList<SyncOperation> Operations, IReadOnlyList<string> Reads)
{
    /// <summary>Gets every key the batch names, once, in first-seen order: the keys the answer reports.</summary>
    public IReadOnlyList<string> Keys { get; } = DistinctKeys(Operations, Reads);

    private static List<string> DistinctKeys(IReadOnlyList<SyncOperation> operations, IReadOnlyList<string> reads)
    {
        var seen = new HashSet<string>(System.StringComparer.Ordinal);
        var keys = new List<string>();
        foreach (var operation in operations)
        {
            if (seen.Add(operation.Key))
            {
                keys.Add(operation.Key);
            }
        }

        foreach (var key in reads)
        {
            if (seen.Add(key))
            {
                keys.Add(key);
            }
        }

        return keys;
    }
}
