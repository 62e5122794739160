using System;
using System.Collections.Generic;

namespace StateKit;

/// <summary>One page of a user's live sessions (<see cref="ISessionLister.ListUserSessionsAsync"/>).</summary>
public sealed class UserSessionPage
{
    /// <summary>The page size when none is given.</summary>
    public const int DefaultPageSize = 20;

    /// <summary>The largest page a store returns, so that a user with thousands of sessions cannot make one call hold them all.</summary>
    public const int MaxPageSize = 100;

    /// <summary>Initializes a new instance of the <see cref="UserSessionPage"/> class.</summary>
    /// <param name="sessions">The sessions on this page.</param>
    /// <param name="continuationToken">The token for the next page, or <see langword="null"/> when this is the last.</param>
    public UserSessionPage(IReadOnlyList<UserSessionInfo> sessions, string? continuationToken)
    {
        ArgumentNullException.ThrowIfNull(sessions);
        Sessions = sessions;
        ContinuationToken = continuationToken;
    }

    /// <summary>Gets the sessions on this page.</summary>
    public IReadOnlyList<UserSessionInfo> Sessions { get; }

    /// <summary>Gets the token that asks for the next page, or <see langword="null"/> when the listing is complete.</summary>
    public string? ContinuationToken { get; }
}
