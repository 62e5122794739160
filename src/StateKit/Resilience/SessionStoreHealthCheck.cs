using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using StateKit.Diagnostics;
using StateKit.Tiering;

namespace StateKit.Resilience;

/// <summary>
/// Reports a store's health. A store behind a <see cref="ResilientSessionStore"/> is judged by its breaker, without
/// adding load during an outage: closed with an empty journal is healthy; half-open or replaying a journal is degraded;
/// open or isolated is unhealthy. Any other store is probed with one load of a ticket that names no session.
/// A <see cref="TieredSessionStore"/> reports its worst tier.
/// </summary>
public sealed class SessionStoreHealthCheck : IHealthCheck
{
    private readonly ISessionStore _store;

    /// <summary>Initializes a new instance of the <see cref="SessionStoreHealthCheck"/> class.</summary>
    /// <param name="store">The store to check.</param>
    public SessionStoreHealthCheck(ISessionStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
    }

    /// <inheritdoc />
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object>(StringComparer.Ordinal);
        var status = await CheckAsync(_store, string.Empty, data, cancellationToken).ConfigureAwait(false);
        return new HealthCheckResult(status, description: status == HealthStatus.Healthy ? "The session store answers." : "The session store is degraded or unavailable; see data.", data: data);
    }

    private static async Task<HealthStatus> CheckAsync(ISessionStore store, string prefix, Dictionary<string, object> data, CancellationToken cancellationToken)
    {
        while (store is InstrumentedSessionStore instrumented)
        {
            store = instrumented.Inner;
        }

        switch (store)
        {
            case TieredSessionStore tiered:
                var worst = HealthStatus.Healthy;
                foreach (var tier in tiered.PartNames)
                {
                    var status = await CheckAsync(tiered.GetTier(tier), prefix + tier + ".", data, cancellationToken).ConfigureAwait(false);
                    worst = status < worst ? status : worst;
                }

                return worst;
            case ResilientSessionStore resilient:
                var state = resilient.CircuitBreaker.State;
                data[prefix + "circuit"] = state.ToString();
                data[prefix + "journal"] = resilient.JournalDepth;
                return state switch
                {
                    CircuitState.Open or CircuitState.Isolated => HealthStatus.Unhealthy,
                    CircuitState.HalfOpen => HealthStatus.Degraded,
                    _ => resilient.JournalDepth > 0 ? HealthStatus.Degraded : HealthStatus.Healthy,
                };
            default:
                try
                {
                    // A well-formed id that names no session: any healthy store answers "no session" in one round trip.
                    await store.LoadAsync(SessionIds.NewId(), cancellationToken).ConfigureAwait(false);
                    data[prefix + "probe"] = "ok";
                    return HealthStatus.Healthy;
                }
                catch (SessionStoreUnavailableException e)
                {
                    data[prefix + "probe"] = e.Message;
                    return HealthStatus.Unhealthy;
                }
        }
    }
}
