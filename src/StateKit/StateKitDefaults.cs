using System;

namespace StateKit;

/// <summary>The defaults of every StateKit option, in one place.</summary>
internal static class StateKitDefaults
{
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(20);
    public static readonly TimeSpan AbsoluteLifetime = TimeSpan.FromHours(12);

    // 1 MiB: far above what a session should hold, low enough that a runaway cart fails loudly.
    public const int MaxPayloadBytes = 1024 * 1024;

    public const int InMemoryMaxSessions = 100_000;
    public const long InMemoryMaxBytes = 256L * 1024 * 1024;
    public const string DistributedCacheKeyPrefix = "statekit:";
    public const int UpdateMaxAttempts = 10;

    public const int StickyBackupQueueCapacity = 10_000;
    public static readonly TimeSpan StickyBackupQueueFullTimeout = TimeSpan.FromMilliseconds(100);
    public static readonly TimeSpan StickyDrainTimeout = TimeSpan.FromSeconds(20);
    public const int StickyDrainParallelism = 8;
    public const string StickyCookieName = "statekit";

    // Rough per-entry overhead (node, dictionary, snapshot, id) charged against InMemory MaxBytes.
    public const int InMemoryEntryOverheadBytes = 256;
}
