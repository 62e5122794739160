using System;
using System.Collections.Generic;
using System.Threading.Tasks;

namespace StateKit;

/// <summary>
/// What a client-held store supplies to <see cref="ClientHeldPipeline"/>: how its tickets are issued and opened, how it
/// mints ids, and how it logs. Everything else (load, commit, revoke, the deny list) is the pipeline's, the same for every
/// client-held store. Linked as source into StateKit.Jwt with the pipeline.
/// </summary>
internal interface IClientHeldTickets
{
    /// <summary>Gets the store's type name, for error messages (e.g. <c>JwtSessionStore</c>; its options are that name plus <c>Options</c>).</summary>
    string StoreName { get; }

    /// <summary>Gets what the store calls its ticket in error messages: "ticket" or "token".</summary>
    string TicketNoun { get; }

    /// <summary>Opens a ticket: verified, read, and within its deadlines at <paramref name="now"/>. Every failure is logged and is <see langword="null"/>; nothing throws.</summary>
    /// <param name="ticket">The ticket the client presented.</param>
    /// <param name="now">The store's clock, read once for the operation.</param>
    /// <returns>The session the ticket holds, or <see langword="null"/>. The deny list is not asked here.</returns>
    ValueTask<SessionSnapshot?> OpenAsync(string? ticket, DateTimeOffset now);

    /// <summary>
    /// Applies a commit's delta (<see cref="SessionPayload.Apply"/>). A store that is done with the values before the commit
    /// returns may keep the caller's upsert buffers instead of copying them; one that remembers the session must copy.
    /// </summary>
    /// <param name="current">The values the presented ticket holds, or <see langword="null"/> for a new session.</param>
    /// <param name="commit">The commit.</param>
    /// <returns>The values after the commit.</returns>
    Dictionary<string, ReadOnlyMemory<byte>> Apply(IReadOnlyDictionary<string, ReadOnlyMemory<byte>>? current, SessionCommit commit);

    /// <summary>Mints a new session (through <see cref="SessionLifecycle.NewSession"/>) and issues its first ticket.</summary>
    /// <param name="values">The session's values, already checked against the payload limit.</param>
    /// <param name="commit">The commit that creates it.</param>
    /// <param name="now">The store's clock.</param>
    /// <param name="created">The new session.</param>
    /// <returns>Its ticket.</returns>
    /// <exception cref="SessionPayloadTooLargeException">The ticket would be over the store's length limit.</exception>
    string IssueNew(IReadOnlyDictionary<string, ReadOnlyMemory<byte>> values, SessionCommit commit, DateTimeOffset now, out SessionSnapshot created);

    /// <summary>Issues a ticket for a session that already exists, with the current key.</summary>
    /// <param name="session">The session after the commit.</param>
    /// <param name="now">The store's clock.</param>
    /// <returns>The ticket.</returns>
    /// <exception cref="SessionPayloadTooLargeException">The ticket would be over the store's length limit.</exception>
    string Issue(SessionSnapshot session, DateTimeOffset now);

    /// <summary>Mints the id of a rotated session.</summary>
    /// <returns>A new session id.</returns>
    string NewId();

    /// <summary>Logs that a ticket loads as no session, and why.</summary>
    /// <param name="reason">A short reason, never the ticket.</param>
    void LogRejected(string reason);

    /// <summary>Logs that a commit was refused on a size limit.</summary>
    /// <param name="error">The refusal.</param>
    void LogTooLarge(SessionPayloadTooLargeException error);
}
