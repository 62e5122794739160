using System;

namespace StateKit.Redis;

/// <summary>
/// A write reached the Redis primary, but fewer replicas than <see cref="RedisSessionStoreOptions.RequireReplicaAcks"/>
/// acknowledged it within <see cref="RedisSessionStoreOptions.ReplicaAckTimeout"/>. The write is not undone: it may
/// still replicate, or be lost if the primary fails now. The store does not report it as saved.
/// </summary>
/// <remarks>
/// It is a <see cref="SessionStoreUnavailableException"/>, so the resilience layer counts it as a failure: a critical tier
/// whose replicas are gone opens its circuit and fails fast, rather than promising durability it cannot give.
/// </remarks>
public sealed class ReplicaAcknowledgementException : SessionStoreUnavailableException
{
    /// <summary>Initializes a new instance of the <see cref="ReplicaAcknowledgementException"/> class.</summary>
    /// <param name="message">What failed.</param>
    /// <param name="required">How many replicas had to acknowledge.</param>
    /// <param name="acknowledged">How many did within the timeout.</param>
    public ReplicaAcknowledgementException(string message, int required, int acknowledged)
        : base(message, null)
    {
        Required = required;
        Acknowledged = acknowledged;
    }

    /// <summary>Gets how many replicas had to acknowledge the write.</summary>
    public int Required { get; }

    /// <summary>Gets how many replicas acknowledged it within the timeout.</summary>
    public int Acknowledged { get; }
}
