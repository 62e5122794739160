namespace StateKit.Sticky;

/// <summary>Where a sticky node is in moving its sessions out (see <see cref="StickySessionStore.DrainAsync"/>).</summary>
public enum StickyDrainState
{
    /// <summary>The node keeps its sessions in memory and serves them from there.</summary>
    Serving = 0,

    /// <summary>
    /// A drain has started and not every session has reached the backup yet. The node still answers every request,
    /// through the backup: the proxy keeps sending it its users until their sessions have moved.
    /// </summary>
    Draining = 1,

    /// <summary>
    /// Every session the node held is in the backup and gone from its memory. The node answers what still reaches it
    /// through the backup and asks the proxy to send its users elsewhere (readiness reports unhealthy).
    /// </summary>
    Drained = 2,
}
