using System.Threading;
using System.Threading.Tasks;

namespace StateKit;

/// <summary>
/// A store that can show a user where they are signed in and end one of those sessions: the listing behind an account
/// page ("where you're signed in"). Stores that keep a user index implement it, and say so in
/// <see cref="SessionStoreCapabilities.ListsUserSessions"/>.
/// </summary>
/// <remarks>
/// A listing names sessions by their public id (<see cref="SessionIds.ToPublicId"/>), never by the ids clients carry as
/// tickets, and a public id ends a session only together with the user whose listing showed it
/// (<see cref="RevokeUserSessionAsync"/>), so a public id leaked from one account cannot end or load anything of another.
/// </remarks>
public interface ISessionLister
{
    /// <summary>
    /// Lists one page of the live sessions bound to a user (<see cref="StateSession.BindUser(string)"/>), pruning from the
    /// user index, as it goes, the entries whose session is gone.
    /// </summary>
    /// <param name="userId">The user id the sessions were bound to.</param>
    /// <param name="continuationToken">
    /// <see langword="null"/> for the first page, else <see cref="UserSessionPage.ContinuationToken"/> of the page before.
    /// Opaque: it names no session.
    /// </param>
    /// <param name="pageSize">
    /// The most sessions to return, from 1 to <see cref="UserSessionPage.MaxPageSize"/>. A page may hold fewer even when
    /// more follow (dead entries skipped); only a <see langword="null"/> <see cref="UserSessionPage.ContinuationToken"/> ends the listing.
    /// </param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>
    /// The page. Sessions bound or ended while a listing walks the pages may or may not appear in it, and a session may
    /// appear on two pages of one listing (on Redis, a scan of a user index that shrinks meanwhile, as the prune makes it,
    /// can return an entry twice): show them by <see cref="UserSessionInfo.PublicId"/>.
    /// </returns>
    /// <exception cref="System.ArgumentOutOfRangeException"><paramref name="pageSize"/> is not from 1 to <see cref="UserSessionPage.MaxPageSize"/>.</exception>
    /// <exception cref="System.ArgumentException"><paramref name="continuationToken"/> is not one this store issued.</exception>
    /// <exception cref="SessionStoreUnavailableException">The store's backend cannot be reached.</exception>
    ValueTask<UserSessionPage> ListUserSessionsAsync(
        string userId,
        string? continuationToken = null,
        int pageSize = UserSessionPage.DefaultPageSize,
        CancellationToken cancellationToken = default);

    /// <summary>
    /// Ends one session of a user, named by the public id the user's listing showed (<see cref="UserSessionInfo.PublicId"/>).
    /// </summary>
    /// <param name="userId">The user the session is bound to: a session bound to anyone else is never ended.</param>
    /// <param name="publicId">The session's public id.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>
    /// <see langword="true"/> when a live session of <paramref name="userId"/> was revoked; <see langword="false"/> when
    /// there is none under that public id (ended already, or another user's, or not a public id at all).
    /// </returns>
    /// <exception cref="SessionStoreUnavailableException">The store's backend cannot be reached.</exception>
    ValueTask<bool> RevokeUserSessionAsync(string userId, string publicId, CancellationToken cancellationToken = default);
}
