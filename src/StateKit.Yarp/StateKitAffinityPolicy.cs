using System;
using System.Collections.Concurrent;
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
/// ticket's MAC with the shared key ring. No cookie of its own: the app node issues and renews the ticket. A node that
/// answers with the <see cref="StickySessionStore.DrainingHeaderName"/> header (drained: its sessions are in the backup)
/// gets neither its users nor new sessions until <see cref="StateKitAffinityOptions.DrainingHoldTime"/> has passed
/// since its last such answer.
/// </summary>
internal sealed class StateKitAffinityPolicy(IOptionsMonitor<StateKitAffinityOptions> options, ILogger<StateKitAffinityPolicy> logger, TimeProvider time) : ISessionAffinityPolicy
{
    // (cluster id, destination id) -> when the destination last said it was drained.
    private readonly ConcurrentDictionary<(string Cluster, string Destination), long> _draining = new();

    public string Name => StateKitAffinityOptions.PolicyName;

    // The app node sets and renews the ticket (naming itself); the proxy never writes one. It only listens for the
    // drained node's header, which is for the proxy alone and is not passed on to the client.
    public void AffinitizeResponse(HttpContext context, ClusterState cluster, SessionAffinityConfig config, DestinationState destination)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(destination);
        var headers = context.Response.Headers;
        var key = (cluster.ClusterId, destination.DestinationId);
        if (headers.Remove(StickySessionStore.DrainingHeaderName))
        {
            if (_draining.TryAdd(key, time.GetTimestamp()))
            {
                Log.NodeDraining(logger, destination.DestinationId);
            }
            else
            {
                _draining[key] = time.GetTimestamp();
            }
        }
        else if (!_draining.IsEmpty)
        {
            // Serving again (a new process under the same id): back in rotation at once.
            _draining.TryRemove(key, out _);
        }
    }

    public AffinityResult FindAffinitizedDestinations(HttpContext context, ClusterState cluster, SessionAffinityConfig config, IReadOnlyList<DestinationState> destinations)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(destinations);

        // Null while no node drains: the common case costs one emptiness check.
        var serving = _draining.IsEmpty ? null : Serving(cluster, destinations);

        // Unnamed: StateKit.AspNetCore's default cookie, "__Host-statekit" over https (the prefixed name), else "statekit".
        var cookies = context.Request.Cookies;
        var ticket = string.IsNullOrEmpty(config.AffinityKeyName)
            ? cookies["__Host-statekit"] ?? cookies["statekit"]
            : cookies[config.AffinityKeyName];
        if (string.IsNullOrEmpty(ticket))
        {
            return Unpinned(serving);
        }

        if (!StickyTicket.TryReadNodeId(ticket, options.CurrentValue.Keys, out var nodeId))
        {
            // A forged or tampered ticket routes like a request without one: nowhere special, and never to a 503.
            Log.TicketRejected(logger);
            return Unpinned(serving);
        }

        foreach (var destination in destinations)
        {
            if (string.Equals(destination.DestinationId, nodeId, StringComparison.Ordinal))
            {
                // A drained node's users go to the nodes still serving, which take their sessions over from the backup.
                return serving is null || serving.Contains(destination)
                    ? new AffinityResult(destination, AffinityStatus.OK)
                    : new AffinityResult(serving, AffinityStatus.OK);
            }
        }

        // Unhealthy or gone: YARP applies the cluster's FailurePolicy (Redistribute or Return503Error).
        Log.NodeUnavailable(logger, nodeId);
        return new AffinityResult(null, AffinityStatus.DestinationNotFound);
    }

    // No ticket: load-balanced as usual, over the nodes still serving when some are drained.
    private static AffinityResult Unpinned(List<DestinationState>? serving)
        => serving is null ? new AffinityResult(null, AffinityStatus.AffinityKeyNotSet) : new AffinityResult(serving, AffinityStatus.OK);

    // The destinations that have not said they are drained (within the hold time), or null when none has: then every
    // destination is eligible, and so it is when every one has (a drained node still answers, through the backup).
    private List<DestinationState>? Serving(ClusterState cluster, IReadOnlyList<DestinationState> destinations)
    {
        var hold = options.CurrentValue.DrainingHoldTime;
        List<DestinationState>? serving = null;
        for (var i = 0; i < destinations.Count; i++)
        {
            var destination = destinations[i];
            var key = (cluster.ClusterId, destination.DestinationId);
            var draining = _draining.TryGetValue(key, out var markedAt);
            if (draining && time.GetElapsedTime(markedAt) > hold)
            {
                // Held long enough: the next request may reach it, and its answer says whether it still drains.
                _draining.TryRemove(KeyValuePair.Create(key, markedAt));
                draining = false;
            }

            if (draining && serving is null)
            {
                serving = new List<DestinationState>(destinations.Count);
                for (var j = 0; j < i; j++)
                {
                    serving.Add(destinations[j]);
                }
            }
            else if (!draining)
            {
                serving?.Add(destination);
            }
        }

        return serving is { Count: 0 } ? null : serving;
    }
}
