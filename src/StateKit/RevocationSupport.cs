using System;

namespace StateKit;

/// <summary>The kinds of revocation a store supports.</summary>
[Flags]
public enum RevocationSupport
{
    /// <summary>Sessions cannot be revoked before they expire.</summary>
    None = 0,

    /// <summary>One session can be revoked by its id (<see cref="ISessionStore.RevokeAsync"/>).</summary>
    ById = 1,

    /// <summary>Every session of a user can be revoked at once (<see cref="ISessionStore.RevokeUserAsync"/>).</summary>
    ByUser = 2,
}
