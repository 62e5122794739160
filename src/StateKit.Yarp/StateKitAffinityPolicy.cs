using System;
using System.Collections.Generic;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StateKit.Sticky;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Model;
using Yarp.ReverseProxy.SessionAffinity;

namespace StateKit.Yarp;

/// <summary>
/// Routes a request to the destination whose id equals the node id in its StateKit sticky ticket, after verifying the
/// ticket's MAC with the shared key ring. No cookie of its own: the app node issues and renews the ticket.
/// </summary>
internal sealed class StateKitAffinityPolicy(IOptionsMonitor<StateKitAffinityOptions> options, ILogger<StateKitAffinityPolicy> logger) : ISessionAffinityPolicy
{
    public string Name => StateKitAffinityOptions.PolicyName;

    // The app node sets and renews the ticket (naming itself); the proxy never writes one.
    public void AffinitizeResponse(HttpContext context, ClusterState cluster, SessionAffinityConfig config, DestinationState destination)
    {
    }

    public AffinityResult FindAffinitizedDestinations(HttpContext context, ClusterState cluster, SessionAffinityConfig config, IReadOnlyList<DestinationState> destinations)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(destinations);
        // Unnamed: StateKit.AspNetCore's default cookie, "__Host-statekit" over https (the prefixed name), else "statekit".
        var cookies = context.Request.Cookies;
        var ticket = string.IsNullOrEmpty(config.AffinityKeyName)
            ? cookies["__Host-statekit"] ?? cookies["statekit"]
            : cookies[config.AffinityKeyName];
        if (string.IsNullOrEmpty(ticket))
        {
            return new AffinityResult(null, AffinityStatus.AffinityKeyNotSet);
        }

        if (!StickyTicket.TryReadNodeId(ticket, options.CurrentValue.Keys, out var nodeId))
        {
            // A forged or tampered ticket routes like a request without one: nowhere special, and never to a 503.
            Log.TicketRejected(logger);
            return new AffinityResult(null, AffinityStatus.AffinityKeyNotSet);
        }

        foreach (var destination in destinations)
        {
            if (string.Equals(destination.DestinationId, nodeId, StringComparison.Ordinal))
            {
                return new AffinityResult(destination, AffinityStatus.OK);
            }
        }

        // Unhealthy or gone: YARP applies the cluster's FailurePolicy (Redistribute or Return503Error).
        Log.NodeUnavailable(logger, nodeId);
        return new AffinityResult(null, AffinityStatus.DestinationNotFound);
    }
}
