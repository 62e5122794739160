using System;

namespace StateKit.Caching;

/// <summary>
/// One invalidation message: a session changed (id and the version it reached), every session of a user was revoked,
/// or everything may have changed.
/// </summary>
public readonly struct SessionInvalidation
{
    /// <summary>Initializes a new instance of the <see cref="SessionInvalidation"/> struct for one session.</summary>
    /// <param name="sessionId">The session's id.</param>
    /// <param name="version">The version the commit produced; <see cref="long.MaxValue"/> when the session was deleted.</param>
    public SessionInvalidation(string sessionId, long version)
    {
        SessionId = sessionId;
        Version = version;
    }

    private SessionInvalidation(string userId)
    {
        UserId = userId;
        Version = long.MaxValue;
    }

    private SessionInvalidation(string publicId, string ownerId)
    {
        PublicId = publicId;
        OwnerId = ownerId;
        Version = long.MaxValue;
    }

    /// <summary>Gets the message that drops every entry: sent by a bus after it reconnects, since it may have missed messages.</summary>
    public static SessionInvalidation All => default;

    /// <summary>Gets the session's id, or <see langword="null"/> for <see cref="All"/> and for a user's revocation.</summary>
    public string? SessionId { get; }

    /// <summary>Gets the user whose every session was revoked (<see cref="ForUser"/>), or <see langword="null"/>.</summary>
    public string? UserId { get; }

    /// <summary>
    /// Gets the public id (<see cref="SessionIds.ToPublicId"/>) of the one session ended by
    /// <see cref="ISessionLister.RevokeUserSessionAsync"/> (<see cref="ForPublicId"/>), or <see langword="null"/>.
    /// </summary>
    public string? PublicId { get; }

    /// <summary>Gets the user the session named by <see cref="PublicId"/> was bound to, or <see langword="null"/>.</summary>
    public string? OwnerId { get; }

    /// <summary>Gets the version the session reached; an entry older than it is stale.</summary>
    public long Version { get; }

    /// <summary>
    /// Gets a value indicating whether the message names no single session by id: <see cref="All"/>, a user's revocation,
    /// or a session ended by public id, which a receiver that cannot resolve them also treats as "drop every entry".
    /// </summary>
    public bool IsAll => SessionId is null;

    /// <summary>Creates the message that every session bound to a user was revoked ("sign out everywhere").</summary>
    /// <param name="userId">The user id the sessions were bound to.</param>
    /// <returns>The message; <see cref="IsAll"/> is <see langword="true"/> for it, for receivers without a user index.</returns>
    public static SessionInvalidation ForUser(string userId)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        return new SessionInvalidation(userId);
    }

    /// <summary>
    /// Creates the message that one session of a user, named by its public id, was ended
    /// (<see cref="ISessionLister.RevokeUserSessionAsync"/>): the node that ended it may not know its id.
    /// </summary>
    /// <param name="userId">The user the session was bound to; receivers look only among that user's sessions.</param>
    /// <param name="publicId">The session's public id (<see cref="SessionIds.ToPublicId"/>).</param>
    /// <returns>
    /// The message; <see cref="IsAll"/> is <see langword="true"/> for it, and <see cref="UserId"/> is <see langword="null"/>
    /// (it does not end the user's other sessions).
    /// </returns>
    /// <exception cref="ArgumentException"><paramref name="userId"/> is empty, or <paramref name="publicId"/> is not a public id.</exception>
    public static SessionInvalidation ForPublicId(string userId, string publicId)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        if (!UserSessionListing.IsPublicId(publicId))
        {
            throw new ArgumentException("A public id is 32 lowercase hex digits (SessionIds.ToPublicId).", nameof(publicId));
        }

        return new SessionInvalidation(publicId, userId);
    }
}
