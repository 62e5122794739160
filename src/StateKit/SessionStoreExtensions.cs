using System;
using System.Threading;
using System.Threading.Tasks;

namespace StateKit;

/// <summary>Helpers over any <see cref="ISessionStore"/>.</summary>
public static class SessionStoreExtensions
{
    /// <summary>Opens a lazy session for a ticket. Does no I/O.</summary>
    /// <param name="store">The store.</param>
    /// <param name="ticket">The ticket the client presented, or <see langword="null"/>.</param>
    /// <returns>A session that loads on first read.</returns>
    public static StateSession Open(this ISessionStore store, string? ticket) => new(store, ticket);

    /// <summary>
    /// Loads a session, applies <paramref name="mutate"/> and commits only if nobody committed in between; on a conflict it
    /// reloads and applies the mutation again, up to <paramref name="maxAttempts"/> times.
    /// </summary>
    /// <param name="store">The store.</param>
    /// <param name="ticket">The ticket the client presented, or <see langword="null"/> for a new session.</param>
    /// <param name="mutate">The change. It may run several times, each time on freshly loaded state, so it must not have other side effects.</param>
    /// <param name="maxAttempts">How many times to try before giving up.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>The outcome of the commit that succeeded.</returns>
    /// <exception cref="SessionConflictException">Every attempt lost to a concurrent commit.</exception>
    /// <remarks>
    /// On a store whose <see cref="SessionStoreCapabilities.Concurrency"/> is <see cref="ConcurrencyGuarantee.LastWriterWins"/>
    /// conflicts are detected only on a best-effort basis and updates can still be lost.
    /// </remarks>
    public static ValueTask<SessionCommitResult> UpdateAsync(
        this ISessionStore store,
        string? ticket,
        Action<StateSession> mutate,
        int maxAttempts = StateKitDefaults.UpdateMaxAttempts,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(mutate);
        return store.UpdateAsync(
            ticket,
            (session, _) =>
            {
                mutate(session);
                return ValueTask.CompletedTask;
            },
            maxAttempts,
            cancellationToken);
    }

    /// <summary>
    /// Loads a session, awaits <paramref name="mutate"/> and commits only if nobody committed in between; on a conflict it
    /// reloads and applies the mutation again, up to <paramref name="maxAttempts"/> times.
    /// </summary>
    /// <param name="store">The store.</param>
    /// <param name="ticket">The ticket the client presented, or <see langword="null"/> for a new session.</param>
    /// <param name="mutate">The change. It may run several times, each time on freshly loaded state.</param>
    /// <param name="maxAttempts">How many times to try before giving up.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>The outcome of the commit that succeeded.</returns>
    /// <exception cref="SessionConflictException">Every attempt lost to a concurrent commit.</exception>
    public static async ValueTask<SessionCommitResult> UpdateAsync(
        this ISessionStore store,
        string? ticket,
        Func<StateSession, CancellationToken, ValueTask> mutate,
        int maxAttempts = StateKitDefaults.UpdateMaxAttempts,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(mutate);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxAttempts, 1);

        string? sessionId = null;
        for (var attempt = 1; attempt <= maxAttempts; attempt++)
        {
            var session = new StateSession(store, ticket);
            await session.LoadAsync(cancellationToken).ConfigureAwait(false);
            sessionId = session.Id;
            await mutate(session, cancellationToken).ConfigureAwait(false);
            var result = await session.CommitAsync(SessionCommitMode.RequireBaseVersion, cancellationToken).ConfigureAwait(false);
            if (result.Outcome != SessionCommitOutcome.Conflict)
            {
                return result;
            }

            if (attempt < maxAttempts)
            {
                await BackOffAsync(attempt, cancellationToken).ConfigureAwait(false);
            }
        }

        throw new SessionConflictException(sessionId, maxAttempts);
    }

    // Retrying at once makes contenders collide again in lockstep; a short random pause spreads them out.
    // The pause is wall-clock on purpose: it paces real contention, it does not measure session time.
    private static Task BackOffAsync(int attempt, CancellationToken cancellationToken)
    {
        var ceilingMs = Math.Min(1 << Math.Min(attempt, 5), 32);
        var delay = TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * ceilingMs);
        return Task.Delay(delay, TimeProvider.System, cancellationToken);
    }
}
