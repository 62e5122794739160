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

    public const string DenyListKeyPrefix = "statekit:deny:";

    // One cookie: browsers keep a cookie's name and value up to 4096 bytes; 4000 leaves room for the name.
    // Larger tickets need the chunking cookie transport (StateKit.AspNetCore) and a larger budget.
    public const int ClientSideMaxTicketLength = 4000;

    // What fits MaxTicketLength with room for a few dozen keys: 2048 bytes seal to about 2,850 characters.
    public const int ClientSideMaxPayloadBytes = 2048;

    // Compressing less than this rarely pays for the deflate header and the CPU.
    public const int ClientSideCompressionThresholdBytes = 1024;

    public const string ClientSidePurpose = "StateKit.ClientSide";

    public const int StickyBackupQueueCapacity = 10_000;
    public static readonly TimeSpan StickyBackupQueueFullTimeout = TimeSpan.FromMilliseconds(100);
    public static readonly TimeSpan StickyDrainTimeout = TimeSpan.FromSeconds(20);
    public const int StickyDrainParallelism = 8;
    public const int StickyReplicationParallelism = 16;

    // Reads of a backup copy a take-over makes while revocations keep landing on the node, before it gives up (no session).
    public const int StickyRehydrateAttempts = 8;
    public const string StickyCookieName = "statekit";

    // Tickets a sticky node remembers as verified: a few MB at most (about 400 bytes each with their parsed fields);
    // emptied when full, which only costs the next request of each user one HMAC again.
    public const int StickyVerifiedTicketCacheSize = 10_000;

    // Rough per-entry overhead (node, dictionary, snapshot, id) charged against InMemory MaxBytes.
    public const int InMemoryEntryOverheadBytes = 256;
}
