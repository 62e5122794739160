using System;
using System.Threading;
using System.Threading.Tasks;

namespace StateKit;

/// <summary>
/// A server-side list of revoked session ids, consulted by stores whose state lives in the client (sealed blobs, JWTs),
/// which otherwise cannot take back a ticket they issued.
/// </summary>
/// <remarks>
/// An entry only has to outlive the tickets it denies, so each carries the latest moment any ticket of that id can still
/// be valid; the list then stays as small as the set of sessions revoked within one lifetime.
/// </remarks>
public interface ISessionDenyList
{
    /// <summary>Denies a session id until <paramref name="until"/>.</summary>
    /// <param name="sessionId">The session id (<see cref="SessionSnapshot.Id"/>; a JWT's <c>sid</c>).</param>
    /// <param name="until">When every ticket of that id has expired anyway, and the entry may go.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns><see langword="true"/> when the id was not denied before.</returns>
    /// <exception cref="SessionStoreUnavailableException">The list's backend cannot be reached.</exception>
    ValueTask<bool> DenyAsync(string sessionId, DateTimeOffset until, CancellationToken cancellationToken = default);

    /// <summary>Tells whether a session id is denied.</summary>
    /// <param name="sessionId">The session id.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns><see langword="true"/> when tickets of that id must load as no session.</returns>
    /// <exception cref="SessionStoreUnavailableException">The list's backend cannot be reached; stores fail closed and let it propagate.</exception>
    ValueTask<bool> IsDeniedAsync(string sessionId, CancellationToken cancellationToken = default);
}
