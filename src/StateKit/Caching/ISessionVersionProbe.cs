using System.Threading;
using System.Threading.Tasks;

namespace StateKit.Caching;

/// <summary>
/// Optional for stores: answers "what version is this session at?" far more cheaply than a load (no values cross the
/// wire), and slides the idle deadline like a load would. A near cache in front of a store that implements it checks
/// the version on every hit, so it never serves a stale session even without an invalidation bus.
/// </summary>
public interface ISessionVersionProbe
{
    /// <summary>Gets the current version of the session a ticket names, sliding its idle deadline.</summary>
    /// <param name="ticket">The ticket the client presented.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>The version, or <see langword="null"/> when there is no live session.</returns>
    ValueTask<long?> GetVersionAsync(string ticket, CancellationToken cancellationToken = default);
}
