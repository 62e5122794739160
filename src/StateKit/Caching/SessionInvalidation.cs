namespace StateKit.Caching;

/// <summary>One invalidation message: a session changed (id and the version it reached), or everything may have.</summary>
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

    /// <summary>Gets the message that drops every entry: sent by a bus after it reconnects, since it may have missed messages.</summary>
    public static SessionInvalidation All => default;

    /// <summary>Gets the session's id, or <see langword="null"/> for <see cref="All"/>.</summary>
    public string? SessionId { get; }

    /// <summary>Gets the version the session reached; an entry older than it is stale.</summary>
    public long Version { get; }

    /// <summary>Gets a value indicating whether the message drops every entry.</summary>
    public bool IsAll => SessionId is null;
}
