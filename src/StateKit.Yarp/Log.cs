using Microsoft.Extensions.Logging;

namespace StateKit.Yarp;

/// <summary>StateKit.Yarp's log events. Ids and names are a shipped contract: never renumber, only add.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1, EventName = "AffinityTicketRejected", Level = LogLevel.Debug, Message = "A StateKit ticket failed verification; the request is routed as if it had none.")]
    public static partial void TicketRejected(ILogger logger);

    [LoggerMessage(EventId = 2, EventName = "AffinityNodeUnavailable", Level = LogLevel.Information, Message = "The node {NodeId} a StateKit ticket names is not an available destination; the cluster's failure policy applies.")]
    public static partial void NodeUnavailable(ILogger logger, string nodeId);

    [LoggerMessage(EventId = 3, EventName = "AffinityNodeDraining", Level = LogLevel.Information, Message = "The node {NodeId} answered that it is drained; its users and new sessions go to the other nodes.")]
    public static partial void NodeDraining(ILogger logger, string nodeId);
}
