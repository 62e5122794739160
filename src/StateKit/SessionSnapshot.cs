using System;
using System.Collections.Generic;

namespace StateKit;

/// <summary>A session as a store loaded it: identity, version, timestamps and the serialized value of each key.</summary>
/// <remarks>Snapshots are immutable; stores may hand the same instance to several readers.</remarks>
public sealed class SessionSnapshot
{
    /// <summary>Initializes a new instance of the <see cref="SessionSnapshot"/> class.</summary>
    /// <param name="id">The session's stable id.</param>
    /// <param name="version">The version of the stored session; every commit increments it.</param>
    /// <param name="values">The serialized value of each key. The snapshot keeps the reference: do not mutate it afterwards.</param>
    public SessionSnapshot(string id, long version, IReadOnlyDictionary<string, ReadOnlyMemory<byte>> values)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        ArgumentNullException.ThrowIfNull(values);
        Id = id;
        Version = version;
        Values = values;
    }

    /// <summary>Gets the session's stable id: a random value of at least 128 bits for stores that mint their own ids.</summary>
    public string Id { get; }

    /// <summary>Gets the version of the stored session. It starts at 1 and every commit increments it.</summary>
    public long Version { get; }

    /// <summary>Gets the serialized value of each key.</summary>
    public IReadOnlyDictionary<string, ReadOnlyMemory<byte>> Values { get; }

    /// <summary>Gets when the session was created.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>Gets when the session was last loaded or committed.</summary>
    public DateTimeOffset LastAccessedAt { get; init; }

    /// <summary>Gets the absolute deadline: the session ends then, however active it is.</summary>
    public DateTimeOffset AbsoluteExpiresAt { get; init; }

    /// <summary>Gets the idle timeout: the session ends when it is not accessed for this long.</summary>
    public TimeSpan IdleTimeout { get; init; }

    /// <summary>Gets the user the session is bound to, or <see langword="null"/> for an anonymous session.</summary>
    public string? UserId { get; init; }

    /// <summary>
    /// Gets the ticket the client must carry from now on when the load itself moved the session (a sticky session
    /// rehydrated on another node), or <see langword="null"/> when the presented ticket stays valid.
    /// <see cref="StateSession"/> adopts it, so the transport sends it even when the request changes nothing.
    /// </summary>
    internal string? ReissuedTicket { get; init; }

    /// <summary>
    /// Gets the id whose public id names the session in a listing and in <see cref="StateSession.Id"/>, when it is not
    /// <see cref="Id"/> (a tiered session is listed by its index tier's part), or <see langword="null"/> for that default.
    /// An id, not its public id: the hash is computed only when someone reads it, as for every other store.
    /// </summary>
    internal string? ListedId { get; init; }

    /// <summary>
    /// Returns the session's public id: what <see cref="StateSession.Id"/> shows for it and what a user's listing names it by
    /// (<see cref="UserSessionInfo.PublicId"/>). Usually <see cref="SessionIds.ToPublicId"/> of <see cref="Id"/>; a tiered
    /// session is named by its part in the tier that keeps the user index. For adapters that hold a snapshot, not a
    /// <see cref="StateSession"/>.
    /// </summary>
    /// <returns>The public id; never the bearer id.</returns>
    public string ToPublicId() => SessionIds.ToPublicId(ListedId ?? Id);

    /// <summary>
    /// Gets the <see cref="Memory.SessionTable"/> entry the snapshot was read from, when a store that keeps sessions in this
    /// process (the in-memory and the sticky store) loaded it, or <see langword="null"/>. A commit based on this snapshot lets
    /// that table find the session again without a second lookup by id; the table trusts only its own entries, still checks
    /// the entry is live and still under the committed ticket, and looks the ticket up when it is not.
    /// </summary>
    internal Memory.SessionTableEntry? TableEntry { get; init; }

    /// <summary>
    /// Gets the proof, kept by the store that loaded the snapshot, that it verified the ticket the session was loaded with
    /// (the sticky store's signed ticket), or <see langword="null"/>. A commit based on this snapshot under that same ticket
    /// string, in that same store, need not verify it again; any other ticket or store verifies in full.
    /// </summary>
    internal TicketProof? TicketProof { get; init; }

    /// <summary>Gets when the session ends if it is not accessed again: the earlier of the idle and the absolute deadline.</summary>
    public DateTimeOffset ExpiresAt
    {
        get
        {
            var idle = LastAccessedAt + IdleTimeout;
            return idle < AbsoluteExpiresAt ? idle : AbsoluteExpiresAt;
        }
    }
}
