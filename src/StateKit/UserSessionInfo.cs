using System;
using System.Collections.Generic;

namespace StateKit;

/// <summary>One live session in a user's listing (<see cref="ISessionLister.ListUserSessionsAsync"/>).</summary>
public sealed class UserSessionInfo
{
    /// <summary>Initializes a new instance of the <see cref="UserSessionInfo"/> class.</summary>
    /// <param name="publicId">The session's public id (<see cref="SessionIds.ToPublicId"/>).</param>
    /// <param name="createdAt">When the session was created.</param>
    /// <param name="lastActiveAt">When a request last used it.</param>
    /// <param name="metadata">What was captured when it was bound to the user; empty when nothing was.</param>
    public UserSessionInfo(string publicId, DateTimeOffset createdAt, DateTimeOffset lastActiveAt, IReadOnlyDictionary<string, string> metadata)
    {
        ArgumentException.ThrowIfNullOrEmpty(publicId);
        ArgumentNullException.ThrowIfNull(metadata);
        PublicId = publicId;
        CreatedAt = createdAt;
        LastActiveAt = lastActiveAt;
        Metadata = metadata;
    }

    /// <summary>
    /// Gets the session's public id: what an account page shows, compares with <see cref="StateSession.Id"/> to mark the
    /// current session, and passes to <see cref="ISessionLister.RevokeUserSessionAsync"/>. Not a credential.
    /// </summary>
    public string PublicId { get; }

    /// <summary>Gets when the session was created.</summary>
    public DateTimeOffset CreatedAt { get; }

    /// <summary>Gets when a request last used the session (its idle deadline counts from here).</summary>
    public DateTimeOffset LastActiveAt { get; }

    /// <summary>
    /// Gets the small metadata captured when the session was bound to the user (see
    /// <see cref="StateSession.BindUser(string, IReadOnlyDictionary{string, string})"/>), such as the user agent and the
    /// client address; empty when none was.
    /// </summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }
}
