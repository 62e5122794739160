using System;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StateKit.Diagnostics;
using StateKit.Events;

namespace StateKit.Memory;

/// <summary>
/// Keeps sessions in this process's memory: the fastest store there is, bounded in sessions and bytes with
/// least-recently-used eviction that takes anonymous sessions first, versioned with compare-and-set. State does not
/// survive the process.
/// </summary>
/// <remarks>
/// Expiry needs no timer per session: an expired session is dropped when it is next touched, and because idle
/// deadlines follow last access, expired sessions gather at the cold end of the LRU list, where every write trims them.
/// A session bound to a user (<see cref="StateSession.BindUser(string)"/>) is evicted only when no other anonymous session
/// is left, so a flood of new anonymous sessions does not sign users out.
/// </remarks>
public sealed class InMemorySessionStore : ISessionStore, ISessionLister, ISessionEventSource
{
    internal const string Kind = "memory";

    private readonly SessionTable _table;
    private readonly ILogger _logger;

    /// <summary>Initializes a new instance of the <see cref="InMemorySessionStore"/> class.</summary>
    /// <param name="options">The store's settings; validated here.</param>
    /// <param name="timeProvider">The clock, or <see langword="null"/> for <see cref="TimeProvider.System"/>.</param>
    /// <param name="logger">A logger, or <see langword="null"/> for none.</param>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">An option is invalid; the message lists each one.</exception>
    public InMemorySessionStore(InMemorySessionStoreOptions options, TimeProvider? timeProvider = null, ILogger<InMemorySessionStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.ThrowIfInvalid();
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _table = new SessionTable(options, options.Name ?? Kind, timeProvider ?? TimeProvider.System, _logger);
        Capabilities = new SessionStoreCapabilities
        {
            Location = StateLocation.Process,
            MaxPayloadBytes = options.MaxPayloadBytes,
            SurvivesNodeLoss = false,
            Concurrency = ConcurrencyGuarantee.CompareAndSet,
            Revocation = RevocationSupport.ById | RevocationSupport.ByUser,
            SupportsBlindWrites = true,
            Events = SessionEventKinds.Expired | SessionEventKinds.Evicted | SessionEventKinds.Revoked,
            ListsUserSessions = true,
        };
    }

    /// <inheritdoc />
    public SessionStoreCapabilities Capabilities { get; }

    /// <summary>Gets how many sessions the store holds, expired ones not yet trimmed included.</summary>
    public int Count => _table.Count;

    /// <summary>Gets how many bytes the store charges against <see cref="InMemorySessionStoreOptions.MaxBytes"/>.</summary>
    public long Bytes => _table.Bytes;

    /// <inheritdoc />
    public ValueTask<SessionSnapshot?> LoadAsync(string ticket, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (!SessionIds.IsWellFormed(ticket))
        {
            Log.TicketRejected(_logger, "malformed");
            return ValueTask.FromResult<SessionSnapshot?>(null);
        }

        return ValueTask.FromResult(_table.Load(ticket));
    }

    /// <inheritdoc />
    public ValueTask<SessionCommitResult> CommitAsync(SessionCommit commit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(commit);
        cancellationToken.ThrowIfCancellationRequested();
        if (!commit.NeedsWrite(StateLocation.Process))
        {
            return ValueTask.FromResult(SessionCommitResult.NoChange);
        }

        return ValueTask.FromResult(commit.Ticket is null ? _table.Create(commit) : _table.Commit(commit, commit.Ticket, commit.RotateId));
    }

    /// <inheritdoc />
    public ValueTask<bool> RevokeAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sessionId);
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(_table.Remove(sessionId));
    }

    /// <inheritdoc />
    public ValueTask<int> RevokeUserAsync(string userId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userId);
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(_table.RemoveUser(userId, raiseEvents: true));
    }

    /// <inheritdoc />
    /// <remarks>The continuation token is the last public id returned: the user's sessions are kept in public-id order.</remarks>
    public ValueTask<UserSessionPage> ListUserSessionsAsync(string userId, string? continuationToken = null, int pageSize = UserSessionPage.DefaultPageSize, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userId);
        UserSessionListing.ThrowIfBadPageSize(pageSize);
        if (continuationToken is not null && !UserSessionListing.IsPublicId(continuationToken))
        {
            throw new ArgumentException("The continuation token is not one this store issued; pass null for the first page.", nameof(continuationToken));
        }

        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(_table.ListUser(userId, continuationToken, pageSize));
    }

    /// <inheritdoc />
    public ValueTask<bool> RevokeUserSessionAsync(string userId, string publicId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userId);
        ArgumentNullException.ThrowIfNull(publicId);
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(UserSessionListing.IsPublicId(publicId) && _table.RemoveUserSession(userId, publicId));
    }

    /// <summary>Gets how many sessions a user has in the index, dead ones not yet pruned included; for tests.</summary>
    internal int IndexedCountOf(string userId) => _table.IndexedCountOf(userId);

    /// <inheritdoc />
    /// <remarks>
    /// Raises <see cref="SessionEventKinds.Expired"/> when a lookup, a write or the periodic sweep
    /// (<see cref="SessionEventOptions.ExpirySweepInterval"/>) meets an expired session, <see cref="SessionEventKinds.Evicted"/>
    /// for each session the bounds evict, and <see cref="SessionEventKinds.Revoked"/> for each session
    /// <see cref="RevokeUserAsync"/> removes.
    /// </remarks>
    void ISessionEventSource.AttachEvents(SessionEventSink sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        _table.Events = sink;
        sink.OnSweep(_table.SweepExpired);
    }
}
