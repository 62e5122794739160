using System;
using System.Collections.Generic;
using StateKit.Sticky;

namespace StateKit.Yarp;

/// <summary>Settings of the StateKit session-affinity policy for YARP.</summary>
/// <remarks>
/// Turn it on per cluster in YARP's configuration: <c>"SessionAffinity": { "Enabled": true, "Policy": "StateKit",
/// "AffinityKeyName": "__Host-statekit", "FailurePolicy": "Redistribute" }</c>. <c>AffinityKeyName</c> is the cookie that
/// carries the ticket: StateKit.AspNetCore's default is <c>__Host-statekit</c> where the cookie is Secure and <c>statekit</c>
/// where it is not (Development over http); left empty, the policy reads the first, then the second. <c>FailurePolicy</c> says what happens
/// when the node a ticket names is unhealthy or gone: <c>Redistribute</c> (YARP's default: load-balance, and the node
/// that gets the request takes the session over from the backup store) or <c>Return503Error</c>.
/// </remarks>
public sealed class StateKitAffinityOptions
{
    /// <summary>The policy's name, for <c>SessionAffinity.Policy</c> in YARP's cluster configuration.</summary>
    public const string PolicyName = "StateKit";

    /// <summary>
    /// Gets the key ring that verifies tickets: the same keys as the app nodes' <see cref="StickySessionStoreOptions.Keys"/>.
    /// A ticket that fails verification is routed like a request without one.
    /// </summary>
    public IList<StickyKey> Keys { get; } = new List<StickyKey>();

    /// <summary>
    /// Gets or sets how long the proxy keeps a node out after its last answer carrying the
    /// <see cref="StickySessionStore.DrainingHeaderName"/> header (the node is drained: StateKit.AspNetCore's
    /// <c>UseStateKitDrainSignal</c>). Then one request may reach it again; a node still drained answers it through the
    /// backup and with the header again, and a node serving again (restarted under the same id) is back in rotation.
    /// </summary>
    /// <value>The default value is 30 seconds.</value>
    public TimeSpan DrainingHoldTime { get; set; } = TimeSpan.FromSeconds(30);
}
