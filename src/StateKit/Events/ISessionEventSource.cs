namespace StateKit.Events;

/// <summary>
/// For store authors: a store that sees lifecycle events nobody else can (expiry, eviction, take-over) implements this, and
/// StateKit hands it a sink when the application subscribes to events. Without subscribers it is never called, so a store
/// pays nothing for events nobody reads. Created, rotated and revoked sessions StateKit raises itself from commit results.
/// </summary>
public interface ISessionEventSource
{
    /// <summary>Starts raising events into <paramref name="sink"/>. Called at most once, when the store is built.</summary>
    /// <param name="sink">Where to raise them.</param>
    void AttachEvents(SessionEventSink sink);
}
