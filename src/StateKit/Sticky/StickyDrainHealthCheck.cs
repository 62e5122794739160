using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using StateKit.DependencyInjection;

namespace StateKit.Sticky;

/// <summary>
/// A readiness check for a sticky node: healthy while it serves, <see cref="HealthStatus.Degraded"/> ("draining") while
/// its sessions move to the backup, <see cref="HealthStatus.Unhealthy"/> ("draining", drained) once they all have.
/// Register it on the readiness endpoint that the load balancer (or YARP's active health checks) polls:
/// <c>AddHealthChecks().AddCheck&lt;StickyDrainHealthCheck&gt;("statekit-drain", tags: ["ready"])</c>.
/// </summary>
/// <remarks>
/// While sessions still move, the node must keep its users: a user sent elsewhere before the move would read a backup
/// copy one write-behind behind. ASP.NET Core's health endpoint answers 200 for Degraded and 503 for Unhealthy, and load
/// balancers take a node out on a failing check: so the node leaves exactly when every session is in the backup.
/// </remarks>
public sealed class StickyDrainHealthCheck : IHealthCheck
{
    private readonly StickySessionStore _store;

    /// <summary>Initializes a new instance of the <see cref="StickyDrainHealthCheck"/> class.</summary>
    /// <param name="store">The node's sticky store: the default store's, when resolved from the service provider.</param>
    public StickyDrainHealthCheck([FromKeyedServices(SessionStores.DefaultName)] StickySessionStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
    }

    /// <inheritdoc />
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var state = _store.DrainState;
        var data = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["node"] = _store.NodeId,
            ["drain"] = state.ToString(),
            ["sessions"] = _store.Count,
        };
        var result = state switch
        {
            StickyDrainState.Draining => HealthCheckResult.Degraded($"draining: node {_store.NodeId} is moving its sessions to the backup store.", data: data),
            StickyDrainState.Drained => HealthCheckResult.Unhealthy($"draining: node {_store.NodeId} has moved every session to the backup store; take it out.", data: data),
            _ => HealthCheckResult.Healthy($"node {_store.NodeId} serves its sessions.", data),
        };
        return Task.FromResult(result);
    }
}
