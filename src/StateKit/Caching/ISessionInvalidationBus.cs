using System;
using System.Threading;
using System.Threading.Tasks;

namespace StateKit.Caching;

/// <summary>
/// Carries "session X reached version N" between the nodes of an application so that their near caches drop stale
/// entries. Messages carry only the id and the version, never state. StateKit.Redis implements it with pub/sub;
/// <see cref="InMemorySessionInvalidationBus"/> connects near caches inside one process.
/// </summary>
/// <remarks>
/// A bus that loses its connection must deliver <see cref="SessionInvalidation.All"/> to every subscriber once it is
/// connected again: messages sent meanwhile are lost, and a near cache that missed one could serve a stale session.
/// </remarks>
public interface ISessionInvalidationBus
{
    /// <summary>Tells every node (this one included) that a session changed.</summary>
    /// <param name="message">The session and the version it reached.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>A task that completes when the message is handed to the transport.</returns>
    ValueTask PublishAsync(SessionInvalidation message, CancellationToken cancellationToken = default);

    /// <summary>Starts delivering messages to <paramref name="handler"/>, until the returned object is disposed.</summary>
    /// <param name="handler">Called for each message, on the bus's thread; must be quick and must not throw.</param>
    /// <returns>The subscription.</returns>
    IDisposable Subscribe(Action<SessionInvalidation> handler);
}
