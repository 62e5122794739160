namespace StateKit.AspNetCore;

/// <summary>The answer to one operation: the key's version after it, and why it was rejected (null otherwise).</summary>
internal readonly record struct SyncAnswer(string Id, string Key, SyncStatus Status, long Version, string? Reason, bool Replayed);
