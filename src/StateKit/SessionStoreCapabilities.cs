using StateKit.Events;

namespace StateKit;

/// <summary>What a store guarantees, stated as data so that tiering, resilience and documentation need not guess.</summary>
public sealed record SessionStoreCapabilities
{
    /// <summary>Gets where the state lives between requests.</summary>
    public required StateLocation Location { get; init; }

    /// <summary>Gets the largest serialized session, in bytes, the store accepts. A larger commit fails with <see cref="SessionPayloadTooLargeException"/>.</summary>
    public required int MaxPayloadBytes { get; init; }

    /// <summary>Gets a value indicating whether a session survives the loss of the application node that wrote it.</summary>
    public required bool SurvivesNodeLoss { get; init; }

    /// <summary>Gets what happens when two requests of one session commit at the same time.</summary>
    public required ConcurrencyGuarantee Concurrency { get; init; }

    /// <summary>Gets which kinds of revocation the store supports.</summary>
    public required RevocationSupport Revocation { get; init; }

    /// <summary>
    /// Gets a value indicating whether the store applies a delta to the stored session without the request loading it first
    /// (a "blind" write). Stores that cannot still accept such commits but read the session before writing.
    /// </summary>
    public required bool SupportsBlindWrites { get; init; }

    /// <summary>
    /// Gets the lifecycle events the store raises when the application subscribes (see docs/events.md). Registered through
    /// <c>AddStateKit</c>, every store also raises <see cref="SessionEventKinds.Created"/>, <see cref="SessionEventKinds.Rotated"/>
    /// and <see cref="SessionEventKinds.Revoked"/> from its commits and revocations, and its capabilities say so; a kind
    /// missing here is one the store has no way to see (a client-held store cannot see a ticket expire that is never sent back).
    /// </summary>
    /// <value>The default value is <see cref="SessionEventKinds.None"/>.</value>
    public SessionEventKinds Events { get; init; }

    /// <summary>
    /// Gets a value indicating whether the store implements <see cref="ISessionLister"/>: it can list a user's sessions and
    /// end one of them by public id.
    /// </summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool ListsUserSessions { get; init; }
}
