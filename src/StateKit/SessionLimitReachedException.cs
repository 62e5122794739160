using System;
using System.Globalization;

namespace StateKit;

/// <summary>
/// A sign-in was refused because its user already has as many sessions as the store's <c>MaxSessionsPerUser</c> allows
/// (<see cref="UserSessionLimitPolicy.RefuseNewSession"/>), where the API could not return
/// <see cref="SessionCommitOutcome.SessionLimitReached"/> instead (cookie authentication's ticket store must return a key
/// or throw). Nothing was written: no session was created and none was signed out.
/// </summary>
/// <remarks>
/// It names the store, not the user: a user id can be personal data, and the code that signed the user in knows it already.
/// Catch it where the sign-in is made and ask the user to sign out one of their sessions elsewhere
/// (<see cref="ISessionLister.RevokeUserSessionAsync"/>, from an account page signed in on another device).
/// </remarks>
public sealed class SessionLimitReachedException : StateKitException
{
    /// <summary>Initializes a new instance of the <see cref="SessionLimitReachedException"/> class.</summary>
    /// <param name="storeName">The name of the StateKit store that refused the sign-in; empty for the default store.</param>
    public SessionLimitReachedException(string storeName)
        : base(string.Format(
            CultureInfo.InvariantCulture,
            "StateKit store '{0}' refused the sign-in: the user already has as many sessions as MaxSessionsPerUser allows (SessionLimitPolicy RefuseNewSession), and nothing was written. Ask the user to sign out a session elsewhere first, or let the store sign out the least recently active one (SessionLimitPolicy.SignOutLeastRecentlyActive).",
            storeName is null or { Length: 0 } ? "(default)" : storeName))
    {
        ArgumentNullException.ThrowIfNull(storeName);
        StoreName = storeName;
    }

    /// <summary>Gets the name of the StateKit store that refused the sign-in; empty for the default store.</summary>
    public string StoreName { get; }
}
