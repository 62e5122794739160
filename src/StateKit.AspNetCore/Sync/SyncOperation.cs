namespace StateKit.AspNetCore;

/// <summary>One operation of a batch, validated: the client recorded it offline against the key's version it last saw.</summary>
internal sealed record SyncOperation(string Id, string Key, SyncOperationKind Kind, long BaseVersion)
{
    /// <summary>Gets when the client recorded it (Unix milliseconds), for <see cref="SyncPolicy.LastWriterWins"/>; null when it did not say.</summary>
    public long? At { get; init; }

    /// <summary>Gets the JSON value of a <c>set</c>.</summary>
    public byte[]? Value { get; init; }

    /// <summary>Gets the counter's field inside an object value (a cart's SKU), or null for a counter that is the whole value.</summary>
    public string? Field { get; init; }

    /// <summary>Gets what an <c>add</c> adds.</summary>
    public long By { get; init; }

    /// <summary>Gets the member a <c>setAdd</c> or <c>setRemove</c> adds or removes.</summary>
    public string? Member { get; init; }

    /// <summary>Gets a value indicating whether the operation merges instead of conflicting.</summary>
    public bool Merges => Kind is SyncOperationKind.Add or SyncOperationKind.SetAdd or SyncOperationKind.SetRemove;
}
