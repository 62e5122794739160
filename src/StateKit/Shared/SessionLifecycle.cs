using System;
using System.Collections.Generic;

namespace StateKit;

/// <summary>
/// How a session is born and how it moves on after a commit, for the stores that build the snapshot themselves (the
/// distributed-cache store and the client-held ones). Linked as source into StateKit.Jwt, so that this stays internal
/// rather than a public helper every store author would have to keep in step with.
/// </summary>
internal static class SessionLifecycle
{
    /// <summary>A new session holding <paramref name="values"/>: version 1, created now, deadlines from the store's options.</summary>
    /// <param name="id">The id the store minted.</param>
    /// <param name="values">The values, from <see cref="SessionPayload.Apply"/>.</param>
    /// <param name="commit">The commit that creates it (its <see cref="SessionCommit.BindUserId"/>).</param>
    /// <param name="now">The store's clock.</param>
    /// <param name="options">The store's idle timeout and absolute lifetime.</param>
    /// <returns>The session to store or seal.</returns>
    public static SessionSnapshot NewSession(string id, IReadOnlyDictionary<string, ReadOnlyMemory<byte>> values, SessionCommit commit, DateTimeOffset now, SessionStoreOptions options)
        => new(id, 1, values)
        {
            CreatedAt = now,
            LastAccessedAt = now,
            AbsoluteExpiresAt = now + options.AbsoluteLifetime,
            IdleTimeout = options.IdleTimeout,
            UserId = commit.BindUserId,
        };

    /// <summary>
    /// The session after a commit: the next version (the same when the commit only refreshed), accessed now, a new id when
    /// the commit rotates it, the creation time and deadlines kept.
    /// </summary>
    /// <param name="current">The session as stored (or as the presented ticket held it).</param>
    /// <param name="values">The values after the commit, from <see cref="SessionPayload.Apply"/>.</param>
    /// <param name="commit">The commit.</param>
    /// <param name="now">The store's clock.</param>
    /// <param name="newId">Mints an id, called only when the commit rotates it.</param>
    /// <returns>The session to store or seal.</returns>
    public static SessionSnapshot NextSession(SessionSnapshot current, IReadOnlyDictionary<string, ReadOnlyMemory<byte>> values, SessionCommit commit, DateTimeOffset now, Func<string> newId)
        => new(commit.RotateId ? newId() : current.Id, commit.HasChanges ? current.Version + 1 : current.Version, values)
        {
            CreatedAt = current.CreatedAt,
            LastAccessedAt = now,
            AbsoluteExpiresAt = current.AbsoluteExpiresAt,
            IdleTimeout = current.IdleTimeout,
            UserId = commit.BindUserId ?? current.UserId,
        };
}
