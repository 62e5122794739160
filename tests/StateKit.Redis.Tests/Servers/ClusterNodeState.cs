using System;
using System.Linq;

namespace StateKit.Redis.Tests.Servers;

/// <summary>One line of <c>CLUSTER NODES</c>: <c>id ip:port@cport flags master-id ping pong epoch link slot...</c>.</summary>
internal sealed record ClusterNodeState(string Id, string Endpoint, string[] Flags, string MasterId, bool HasSlots)
{
    /// <summary>Gets the port (a node may list itself without its address until another node tells it).</summary>
    public int Port => int.Parse(Endpoint[(Endpoint.LastIndexOf(':') + 1)..], System.Globalization.CultureInfo.InvariantCulture);

    public bool IsMaster => Flags.Contains("master");

    /// <summary>Gets whether the cluster agreed the node is down (<c>fail</c>), not only suspected by one node (<c>fail?</c>).</summary>
    public bool IsFailed => Flags.Contains("fail");

    public static ClusterNodeState Parse(string line)
    {
        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var address = parts[1];
        var endpoint = address[..address.IndexOf('@', StringComparison.Ordinal)];
        return new ClusterNodeState(parts[0], endpoint, parts[2].Split(','), parts[3], parts.Length > 8);
    }
}
