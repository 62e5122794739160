using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Reflection;

namespace StateKit.Diagnostics;

/// <summary>Owns StateKit's one <see cref="Meter"/> and one <see cref="ActivitySource"/>.</summary>
internal static class StateKitTelemetry
{
    public const string StoreTag = "statekit.store";
    public const string ResultTag = "statekit.result";
    public const string OperationTag = "statekit.operation";
    public const string ErrorTypeTag = "error.type";

    /// <summary>The session's public id (<see cref="SessionIds.ToPublicId"/>), on activities only: never the bearer id, and never a metric tag (unbounded).</summary>
    public const string SessionIdTag = "statekit.session.id";

    private static readonly string? Version = typeof(StateKitTelemetry).Assembly
        .GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;

    public static readonly ActivitySource ActivitySource = new(StateKitDiagnostics.ActivitySourceName, Version);

    public static readonly Meter Meter = new(StateKitDiagnostics.MeterName, Version);

    public static readonly Counter<long> Loads = Meter.CreateCounter<long>(
        "statekit.session.loads", "{load}", "Session loads, tagged with whether a live session was found (hit) or not (miss).");

    public static readonly Counter<long> Commits = Meter.CreateCounter<long>(
        "statekit.session.commits", "{commit}", "Session commits that reached a store, tagged with their outcome.");

    public static readonly Counter<long> Conflicts = Meter.CreateCounter<long>(
        "statekit.session.conflicts", "{conflict}", "Commits refused because the session changed since it was loaded.");

    public static readonly Histogram<long> CommitBytes = Meter.CreateHistogram<long>(
        "statekit.session.commit.bytes", "By", "Bytes of session values a commit wrote (the delta, not the whole session).");

    public static readonly Histogram<double> Duration = Meter.CreateHistogram<double>(
        "statekit.session.operation.duration", "s", "How long a store operation took, tagged with the operation and, on failure, the error type.");

    public static readonly Counter<long> Evictions = Meter.CreateCounter<long>(
        "statekit.session.evictions", "{session}", "Live sessions a bounded store evicted to stay within its bounds.");

    // Resilience and tiering (issue 7).
    public const string CircuitStateTag = "statekit.circuit.state";
    public const string ReasonTag = "statekit.reason";

    public static readonly Counter<long> CircuitTransitions = Meter.CreateCounter<long>(
        "statekit.circuit.transitions", "{transition}", "Circuit breaker state changes, tagged with the state entered.");

    public static readonly Counter<long> Rejections = Meter.CreateCounter<long>(
        "statekit.resilience.rejections", "{call}", "Store calls refused without reaching the store (open circuit, concurrency limit, timeout, full journal), tagged with the reason.");

    public static readonly Counter<long> FallbackCalls = Meter.CreateCounter<long>(
        "statekit.resilience.fallback.calls", "{call}", "Loads and commits served by the fallback store while the primary was unavailable.");

    public static readonly UpDownCounter<long> JournalDepth = Meter.CreateUpDownCounter<long>(
        "statekit.resilience.journal.depth", "{session}", "Sessions with writes journaled during an outage and not yet replayed to the primary store.");

    public static readonly Counter<long> JournalReplayed = Meter.CreateCounter<long>(
        "statekit.resilience.journal.replayed", "{session}", "Journaled sessions replayed to the primary store without a conflict.");

    public static readonly Counter<long> JournalMerged = Meter.CreateCounter<long>(
        "statekit.resilience.journal.merged", "{session}", "Journaled sessions replayed after the merge policy resolved a conflict with the primary's newer version.");

    public static readonly Counter<long> JournalDropped = Meter.CreateCounter<long>(
        "statekit.resilience.journal.dropped", "{session}", "Journaled sessions dropped, tagged with the reason (overflow); each is also logged.");

    public static readonly Counter<long> NearCacheLookups = Meter.CreateCounter<long>(
        "statekit.nearcache.lookups", "{load}", "Near-cache lookups, tagged hit or miss.");

    public static readonly Counter<long> NearCacheInvalidations = Meter.CreateCounter<long>(
        "statekit.nearcache.invalidations", "{message}", "Invalidation messages a near cache received (one session, or everything after a reconnect).");

    public static readonly UpDownCounter<long> BackupQueueLength = Meter.CreateUpDownCounter<long>(
        "statekit.sticky.backup.queue.length", "{session}", "Sessions waiting in a sticky store's write-behind queue for their copy in the backup store.");

    public static readonly Histogram<double> BackupLag = Meter.CreateHistogram<double>(
        "statekit.sticky.backup.lag", "s", "Time from a sticky session's first queued change to its write in the backup store: how stale the backup copy was.");

    public static readonly Counter<long> BackupDropped = Meter.CreateCounter<long>(
        "statekit.sticky.backup.dropped", "{write}", "Write-behind replications not made, tagged with the reason (queue_full, error, evicted, missing); the session's next change or the drain retries them.");

    public static readonly Counter<long> SessionsLost = Meter.CreateCounter<long>(
        "statekit.sticky.sessions.lost", "{session}", "Sticky tickets that reached a node which could not recover their session (owner gone and no backup copy), tagged with the reason.");

    public static readonly Counter<long> SessionsRehydrated = Meter.CreateCounter<long>(
        "statekit.sticky.sessions.rehydrated", "{session}", "Sticky sessions a node took over from the backup store (after failover, a redistribution or an eviction).");

    // Session lifecycle events (issue 16).
    public static readonly Counter<long> EventsDropped = Meter.CreateCounter<long>(
        "statekit.events.dropped", "{event}", "Session lifecycle events dropped because the handlers' queue was full (SessionEventOptions.QueueCapacity), tagged with the store that raised them.");

    public static readonly Counter<long> EventHandlerErrors = Meter.CreateCounter<long>(
        "statekit.events.handler.errors", "{error}", "Exceptions session event handlers threw; each is logged and swallowed.");
}
