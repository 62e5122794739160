namespace StateKit;

/// <summary>
/// Values that keep their own <see cref="SessionPayload.Size(System.Collections.Generic.IReadOnlyDictionary{string, System.ReadOnlyMemory{byte}})"/>
/// up to date as they change, so that measuring them costs nothing (the in-memory table's values).
/// </summary>
internal interface IMeasuredPayload
{
    /// <summary>Gets the UTF-8 bytes of every key plus the bytes of every value.</summary>
    long PayloadBytes { get; }
}
