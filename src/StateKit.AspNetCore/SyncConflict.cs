using System.Text.Json.Nodes;

namespace StateKit.AspNetCore;

/// <summary>What a <see cref="SyncPolicy.Merge"/> delegate is given: one key, the server's value and the client's.</summary>
public readonly struct SyncConflict
{
    internal SyncConflict(string key, JsonNode? serverValue, bool serverHasValue, JsonNode? clientValue, bool clientRemoves, long serverVersion, long baseVersion)
    {
        Key = key;
        ServerValue = serverValue;
        ServerHasValue = serverHasValue;
        ClientValue = clientValue;
        ClientRemoves = clientRemoves;
        ServerVersion = serverVersion;
        BaseVersion = baseVersion;
    }

    /// <summary>Gets the session key both sides changed.</summary>
    public string Key { get; }

    /// <summary>Gets the value the server holds now (a fresh copy the delegate may change), or <see langword="null"/> when absent or JSON null.</summary>
    public JsonNode? ServerValue { get; }

    /// <summary>Gets a value indicating whether the server holds the key at all.</summary>
    public bool ServerHasValue { get; }

    /// <summary>Gets the value the client set (a fresh copy), or <see langword="null"/> when it removed the key or set JSON null.</summary>
    public JsonNode? ClientValue { get; }

    /// <summary>Gets a value indicating whether the client's operation was a <c>remove</c>.</summary>
    public bool ClientRemoves { get; }

    /// <summary>Gets the key's version on the server now.</summary>
    public long ServerVersion { get; }

    /// <summary>Gets the key's version the client last saw when it recorded the operation.</summary>
    public long BaseVersion { get; }
}
