using System;
using System.Collections.Generic;

namespace StateKit;

/// <summary>The changes one request made to a session, and what they were based on.</summary>
/// <remarks><see cref="StateSession"/> builds these; a store receives them in <see cref="ISessionStore.CommitAsync"/>.</remarks>
public sealed class SessionCommit
{
    internal static readonly IReadOnlyDictionary<string, ReadOnlyMemory<byte>> NoUpserts = new Dictionary<string, ReadOnlyMemory<byte>>();

    /// <summary>Gets the ticket the client presented, or <see langword="null"/> when the client had none (a new session).</summary>
    public string? Ticket { get; init; }

    /// <summary>
    /// Gets the session as the request loaded it, or <see langword="null"/> for a blind write: a request that changed keys without reading.
    /// </summary>
    public SessionSnapshot? Base { get; init; }

    /// <summary>Gets the keys to write, with their new serialized values.</summary>
    public IReadOnlyDictionary<string, ReadOnlyMemory<byte>> Upserts { get; init; } = NoUpserts;

    /// <summary>Gets the keys to delete.</summary>
    public IReadOnlyCollection<string> Removals { get; init; } = [];

    /// <summary>Gets a value indicating whether every stored key is dropped before <see cref="Upserts"/> are applied.</summary>
    public bool ClearExisting { get; init; }

    /// <summary>Gets a value indicating whether the session moves to a new id (after sign-in), invalidating the old ticket.</summary>
    public bool RotateId { get; init; }

    /// <summary>Gets a value indicating whether the session is deleted. Other changes are ignored.</summary>
    public bool Revoke { get; init; }

    /// <summary>Gets the user to bind the session to, or <see langword="null"/> to leave the binding as it is.</summary>
    public string? BindUserId { get; init; }

    /// <summary>
    /// Gets the small metadata to keep with the session when <see cref="BindUserId"/> binds it (the user agent and client
    /// address, say), which <see cref="ISessionLister"/> shows back; <see langword="null"/> for none. Ignored without
    /// <see cref="BindUserId"/>, and by stores that cannot list.
    /// </summary>
    public IReadOnlyDictionary<string, string>? SignInMetadata { get; init; }

    /// <summary>
    /// Gets a value indicating whether the client must get a ticket whose idle deadline starts now, even when nothing else
    /// changed. Client-held stores, whose idle deadline lives in the ticket, re-issue it; stores that slide the deadline on
    /// load ignore it. Not counted by <see cref="HasChanges"/>; <see cref="NeedsWrite"/> counts it where it matters.
    /// </summary>
    public bool Refresh { get; init; }

    /// <summary>Gets how a stale <see cref="Base"/> is treated.</summary>
    /// <value>The default value is <see cref="SessionCommitMode.MergeKeys"/>.</value>
    public SessionCommitMode Mode { get; init; } = SessionCommitMode.MergeKeys;

    /// <summary>
    /// Gets a value indicating whether the arrays behind <see cref="Upserts"/> were made for this commit and are never written
    /// again (<see cref="StateSession"/>'s own copies), so a store may keep them instead of copying. Commits built by anyone
    /// else leave it false: their buffers belong to the caller, who may reuse them once the commit returns.
    /// </summary>
    internal bool UpsertsAreImmutable { get; init; }

    /// <summary>
    /// The same commit aimed at another ticket: for decorators that pass a commit on to a store that knows the session by
    /// another name. Every field travels, so a field added here later cannot be dropped by one of them.
    /// </summary>
    internal SessionCommit Retarget(string? ticket, bool rotateId) => new()
    {
        Ticket = ticket,
        Base = Base,
        Upserts = Upserts,
        Removals = Removals,
        ClearExisting = ClearExisting,
        RotateId = rotateId,
        Revoke = Revoke,
        BindUserId = BindUserId,
        SignInMetadata = SignInMetadata,
        Refresh = Refresh,
        Mode = Mode,
        UpsertsAreImmutable = UpsertsAreImmutable,
    };

    /// <summary>
    /// Gets a value indicating whether the commit changes the session's data, binding or id: what bumps its version.
    /// Whether a store must act on the commit at all is <see cref="NeedsWrite"/>, which also counts <see cref="Refresh"/>.
    /// </summary>
    public bool HasChanges => Revoke || RotateId || ClearExisting || BindUserId is not null || Upserts.Count > 0 || Removals.Count > 0;

    /// <summary>
    /// Decides whether a store that keeps its state at <paramref name="location"/> must act on this commit: the one test every
    /// store and decorator applies before writing, so none of them drops a field another one needs.
    /// </summary>
    /// <param name="location">
    /// Where the deciding store keeps state; a decorator passes the location of the store it wraps. A <see cref="Refresh"/>
    /// counts only for <see cref="StateLocation.Client"/>, whose idle deadline lives in the ticket and moves only by
    /// re-issuing it; stores elsewhere slide the deadline on load.
    /// </param>
    /// <returns><see langword="true"/> when the store must write (or re-issue the ticket).</returns>
    public bool NeedsWrite(StateLocation location) => HasChanges || (Refresh && location == StateLocation.Client);
}
