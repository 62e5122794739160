using System.Threading;
using System.Threading.Tasks;

namespace StateKit;

/// <summary>
/// A place where per-user session state lives. Given the ticket a client presented, a store loads the session;
/// given a set of changes, it persists them and returns the ticket the client must carry next.
/// </summary>
/// <remarks>
/// <para>
/// Every store honours the same semantics: an unknown, expired, tampered or malformed ticket loads as "no session"
/// (never an exception); idle and absolute expiry are enforced by the store; a commit writes only what changed;
/// removing every key or revoking deletes the session. What a store cannot guarantee it declares in
/// <see cref="Capabilities"/>.
/// </para>
/// <para>Applications rarely call a store directly: <see cref="StateSession"/> tracks changes and loads lazily.</para>
/// </remarks>
public interface ISessionStore
{
    /// <summary>Gets what this store guarantees. Tiering, resilience and documentation read it.</summary>
    SessionStoreCapabilities Capabilities { get; }

    /// <summary>
    /// Loads the session the ticket points to and, where the store slides the idle deadline, refreshes it in the same operation.
    /// </summary>
    /// <param name="ticket">The ticket the client presented.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>The session, or <see langword="null"/> when the ticket is unknown, expired, revoked, tampered or malformed.</returns>
    /// <exception cref="SessionStoreUnavailableException">The store's backend cannot be reached.</exception>
    ValueTask<SessionSnapshot?> LoadAsync(string ticket, CancellationToken cancellationToken = default);

    /// <summary>Persists a set of changes and returns the ticket the client must carry next.</summary>
    /// <param name="commit">The changes, and the state they were based on.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>The outcome; see <see cref="SessionCommitResult"/>.</returns>
    /// <exception cref="SessionPayloadTooLargeException">The session would exceed <see cref="SessionStoreCapabilities.MaxPayloadBytes"/>; nothing was written.</exception>
    /// <exception cref="SessionStoreUnavailableException">The store's backend cannot be reached; nothing is known to have been written.</exception>
    ValueTask<SessionCommitResult> CommitAsync(SessionCommit commit, CancellationToken cancellationToken = default);

    /// <summary>Deletes a session by its id, wherever its ticket is.</summary>
    /// <param name="sessionId">The session's id (<see cref="SessionSnapshot.Id"/>).</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns><see langword="true"/> when a live session was revoked.</returns>
    /// <exception cref="System.NotSupportedException">The store cannot revoke by id (see <see cref="SessionStoreCapabilities.Revocation"/>).</exception>
    ValueTask<bool> RevokeAsync(string sessionId, CancellationToken cancellationToken = default);

    /// <summary>Deletes every session bound to a user ("sign out everywhere").</summary>
    /// <param name="userId">The user id bound with <see cref="StateSession.BindUser(string)"/>.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>How many live sessions were revoked.</returns>
    /// <exception cref="System.NotSupportedException">The store keeps no user index (see <see cref="SessionStoreCapabilities.Revocation"/>).</exception>
    ValueTask<int> RevokeUserAsync(string userId, CancellationToken cancellationToken = default);
}
