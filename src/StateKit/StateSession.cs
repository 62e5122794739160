using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using System.Threading;
using System.Threading.Tasks;
using StateKit.DependencyInjection;

namespace StateKit;

/// <summary>
/// One request's view of a session: typed reads and writes, tracked per key, loaded lazily and committed as a delta.
/// </summary>
/// <remarks>
/// <para>
/// Nothing is read from the store until the first read (<see cref="LoadAsync"/>, <see cref="GetAsync{T}(string, CancellationToken)"/>).
/// A request that only writes never loads: its commit is a blind delta, which stores that support it apply in one operation.
/// A request that neither reads nor writes costs nothing.
/// </para>
/// <para>
/// Values are stored as UTF-8 JSON. A value that was read is never re-serialized; only keys passed to <c>Set</c> or
/// <see cref="Remove"/> are written. Mutating an object returned by <c>Get</c> changes nothing until it is passed to <c>Set</c>.
/// </para>
/// <para>
/// <see cref="GetAsync{T}(string, CancellationToken)"/>, <see cref="Get{T}(string)"/> and <see cref="Set{T}(string, T)"/>
/// resolve the value type's <see cref="JsonTypeInfo{T}"/> through <see cref="JsonOptions"/>, which the app
/// configures once (<see cref="StateKitBuilder.ConfigureJson"/>). They are safe under native AOT: no type of the handler
/// depends on a member another source generator adds, and a type missing from the options is an error, never reflection.
/// </para>
/// <para>Instances are not thread-safe: one request, one session.</para>
/// </remarks>
public sealed class StateSession
{
    private readonly ISessionStore _store;
    private readonly JsonSerializerOptions _json;
    private string? _ticket;
    private SessionSnapshot? _snapshot;
    private string? _id;
    private string? _listedId;
    private string? _publicId;
    private bool _loaded;
    private PendingUpserts? _upserts;
    private HashSet<string>? _removals;
    private bool _cleared;
    private bool _rotate;
    private bool _revoke;
    private bool _refresh;
    private string? _bindUserId;
    private IReadOnlyDictionary<string, string>? _signInMetadata;
    private string? _readOnlyReason;

    /// <summary>Initializes a new instance of the <see cref="StateSession"/> class. Does no I/O.</summary>
    /// <param name="store">The store the session lives in.</param>
    /// <param name="ticket">The ticket the client presented, or <see langword="null"/> when it had none.</param>
    public StateSession(ISessionStore store, string? ticket)
        : this(store, ticket, null)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="StateSession"/> class. Does no I/O.</summary>
    /// <param name="store">The store the session lives in.</param>
    /// <param name="ticket">The ticket the client presented, or <see langword="null"/> when it had none.</param>
    /// <param name="jsonOptions">
    /// Where <see cref="Get{T}(string)"/> and <see cref="Set{T}(string, T)"/> find type information, usually
    /// <see cref="StateKitJsonOptions.SerializerOptions"/> from the app's services; <see langword="null"/> for the defaults
    /// (web defaults; reflection only where the app has reflection-based JSON enabled).
    /// </param>
    public StateSession(ISessionStore store, string? ticket, JsonSerializerOptions? jsonOptions)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
        _ticket = string.IsNullOrEmpty(ticket) ? null : ticket;
        _json = jsonOptions ?? StateKitJsonOptions.Default;
    }

    /// <summary>Gets the options that <see cref="Get{T}(string)"/>, <see cref="GetAsync{T}(string, CancellationToken)"/> and <see cref="Set{T}(string, T)"/> resolve type information through.</summary>
    public JsonSerializerOptions JsonOptions => _json;

    /// <summary>Gets the store the session lives in.</summary>
    public ISessionStore Store => _store;

    /// <summary>Gets the ticket the client must carry: the one it presented until a commit issues another, <see langword="null"/> when there is none.</summary>
    public string? Ticket => _ticket;

    /// <summary>Gets a value indicating whether the session has been read from the store during this request.</summary>
    public bool IsLoaded => _loaded;

    /// <summary>Gets a value indicating whether the store held a live session for the ticket. Only meaningful once <see cref="IsLoaded"/>.</summary>
    public bool Exists => _snapshot is not null;

    /// <summary>
    /// Gets the session's public id once loaded or committed, else <see langword="null"/>: a value that names the session in
    /// logs, traces and admin pages without being a credential (<see cref="SessionIds.ToPublicId"/> of <see cref="BearerId"/>;
    /// for a tiered session, of its part in the tier that keeps the user index). It is what <see cref="ISessionLister"/> lists.
    /// Every node computes the same public id for the same session, so logs of one session correlate across nodes.
    /// </summary>
    public string? Id => _id is null ? null : _publicId ??= SessionIds.ToPublicId(_listedId ?? _id);

    /// <summary>
    /// Gets the id the store knows the session by once loaded or committed, else <see langword="null"/>. For server-held
    /// stores it is the ticket itself, a bearer credential: whoever has it is signed in as this user. Pass it only to the
    /// store (<see cref="ISessionStore.RevokeAsync"/>); never log it, show it or put it in telemetry. Use <see cref="Id"/> for that.
    /// </summary>
    public string? BearerId => _id;

    /// <summary>Gets a value indicating whether every change throws, since <see cref="MakeReadOnly"/>.</summary>
    public bool IsReadOnly => _readOnlyReason is not null;

    /// <summary>Gets the session as loaded (identity, version, timestamps), or <see langword="null"/> when not loaded or there is none.</summary>
    public SessionSnapshot? Loaded => _snapshot;

    /// <summary>Gets a value indicating whether this request changed anything a commit would write.</summary>
    public bool HasChanges => _revoke || _rotate || _cleared || _bindUserId is not null || _upserts?.Count > 0 || _removals?.Count > 0;

    /// <summary>
    /// Gets the keys the session holds, including this request's changes. Requires the session to be loaded.
    /// </summary>
    /// <exception cref="InvalidOperationException">The session has not been loaded.</exception>
    public IReadOnlyCollection<string> Keys
    {
        get
        {
            ThrowIfNotLoaded();
            var keys = new HashSet<string>(StringComparer.Ordinal);
            if (!_cleared && _snapshot is not null)
            {
                keys.UnionWith(_snapshot.Values.Keys);
            }

            if (_removals is not null)
            {
                keys.ExceptWith(_removals);
            }

            if (_upserts is not null)
            {
                keys.UnionWith(_upserts.Keys);
            }

            return keys;
        }
    }

    /// <summary>Reads the session from the store, once. Later calls return at once.</summary>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>A task that completes when the session is loaded.</returns>
    public ValueTask LoadAsync(CancellationToken cancellationToken = default)
    {
        if (_loaded)
        {
            return ValueTask.CompletedTask;
        }

        if (_ticket is null)
        {
            _loaded = true;
            return ValueTask.CompletedTask;
        }

        // Stores that complete synchronously finish here, without an async state machine; a store that throws
        // synchronously still surfaces its exception through the returned task, as an async method would.
        try
        {
            var pending = _store.LoadAsync(_ticket, cancellationToken);
            if (pending.IsCompletedSuccessfully)
            {
                OnLoaded(pending.Result);
                return ValueTask.CompletedTask;
            }

            return LoadCoreAsync(pending);
        }
        catch (OperationCanceledException e) when (e.CancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(e.CancellationToken);
        }
#pragma warning disable CA1031 // Not swallowed: handed to the caller through the task, as an async method does.
        catch (Exception e)
#pragma warning restore CA1031
        {
            return ValueTask.FromException(e);
        }
    }

    /// <summary>Gets the serialized value of a key.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The UTF-8 JSON (or raw bytes written with <see cref="SetBytes"/>) when found.</param>
    /// <returns><see langword="true"/> when the key has a value.</returns>
    /// <exception cref="InvalidOperationException">The key was not written by this request and the session has not been loaded.</exception>
    public bool TryGetBytes(string key, out ReadOnlyMemory<byte> value)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (_upserts is not null && _upserts.TryGetValue(key, out value))
        {
            return true;
        }

        value = default;
        if (_removals is not null && _removals.Contains(key))
        {
            return false;
        }

        ThrowIfNotLoaded();
        return !_cleared && _snapshot is not null && _snapshot.Values.TryGetValue(key, out value);
    }

    /// <summary>Sets the raw bytes of a key.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The bytes. The session keeps a copy.</param>
    /// <exception cref="InvalidOperationException">The session is read-only (<see cref="MakeReadOnly"/>).</exception>
    public void SetBytes(string key, ReadOnlySpan<byte> value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ThrowIfReadOnly();
        _removals?.Remove(key);
        (_upserts ??= new()).Set(key, value.ToArray());
    }

    /// <summary>
    /// Reads and deserializes a key with the type information <see cref="JsonOptions"/> holds for <typeparamref name="T"/>.
    /// Requires the session to be loaded unless this request set the key.
    /// </summary>
    /// <typeparam name="T">The value's type.</typeparam>
    /// <param name="key">The key.</param>
    /// <returns>The value, or <see langword="default"/> when the key is absent.</returns>
    /// <exception cref="InvalidOperationException">The session has not been loaded, or <see cref="JsonOptions"/> has no type information for <typeparamref name="T"/>.</exception>
    public T? Get<T>(string key) => Get(key, TypeInfo<T>());

    /// <summary>Reads and deserializes a key. Requires the session to be loaded unless this request set the key.</summary>
    /// <typeparam name="T">The value's type.</typeparam>
    /// <param name="key">The key.</param>
    /// <param name="typeInfo">Source-generated metadata for <typeparamref name="T"/>.</param>
    /// <returns>The value, or <see langword="default"/> when the key is absent.</returns>
    /// <exception cref="InvalidOperationException">The session has not been loaded.</exception>
    public T? Get<T>(string key, JsonTypeInfo<T> typeInfo)
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        return TryGetBytes(key, out var bytes) ? JsonSerializer.Deserialize(bytes.Span, typeInfo) : default;
    }

    /// <summary>Reads and deserializes a key with reflection-based System.Text.Json.</summary>
    /// <typeparam name="T">The value's type.</typeparam>
    /// <param name="key">The key.</param>
    /// <param name="options">Serializer options, or <see langword="null"/> for <see cref="JsonSerializerOptions.Web"/>.</param>
    /// <returns>The value, or <see langword="default"/> when the key is absent.</returns>
    /// <exception cref="InvalidOperationException">The session has not been loaded.</exception>
    [RequiresUnreferencedCode("Reflection-based JSON. Use Get<T>(key) or the JsonTypeInfo<T> overload for trimming and AOT.")]
    [RequiresDynamicCode("Reflection-based JSON. Use Get<T>(key) or the JsonTypeInfo<T> overload for trimming and AOT.")]
    public T? Get<T>(string key, JsonSerializerOptions? options)
        => TryGetBytes(key, out var bytes) ? JsonSerializer.Deserialize<T>(bytes.Span, options ?? JsonSerializerOptions.Web) : default;

    /// <summary>
    /// Loads the session if needed, then reads and deserializes a key with the type information <see cref="JsonOptions"/>
    /// holds for <typeparamref name="T"/>. The way to read typed values in minimal-API handlers, native AOT included.
    /// </summary>
    /// <typeparam name="T">The value's type.</typeparam>
    /// <param name="key">The key.</param>
    /// <param name="cancellationToken">A token that cancels the load.</param>
    /// <returns>The value, or <see langword="default"/> when the key is absent.</returns>
    /// <exception cref="InvalidOperationException"><see cref="JsonOptions"/> has no type information for <typeparamref name="T"/>.</exception>
    public ValueTask<T?> GetAsync<T>(string key, CancellationToken cancellationToken = default)
    {
        // Resolved before any I/O, so a missing registration fails the same way whether or not the session exists.
        var typeInfo = TypeInfo<T>();
        return GetAsync(key, typeInfo, cancellationToken);
    }

    /// <summary>Loads the session if needed, then reads and deserializes a key.</summary>
    /// <typeparam name="T">The value's type.</typeparam>
    /// <param name="key">The key.</param>
    /// <param name="typeInfo">Source-generated metadata for <typeparamref name="T"/>.</param>
    /// <param name="cancellationToken">A token that cancels the load.</param>
    /// <returns>The value, or <see langword="default"/> when the key is absent.</returns>
    public async ValueTask<T?> GetAsync<T>(string key, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken = default)
    {
        await LoadAsync(cancellationToken).ConfigureAwait(false);
        return Get(key, typeInfo);
    }

    /// <summary>Loads the session if needed, then reads and deserializes a key with reflection-based System.Text.Json.</summary>
    /// <typeparam name="T">The value's type.</typeparam>
    /// <param name="key">The key.</param>
    /// <param name="options">Serializer options, or <see langword="null"/> for <see cref="JsonSerializerOptions.Web"/>.</param>
    /// <param name="cancellationToken">A token that cancels the load.</param>
    /// <returns>The value, or <see langword="default"/> when the key is absent.</returns>
    [RequiresUnreferencedCode("Reflection-based JSON. Use GetAsync<T>(key) or the JsonTypeInfo<T> overload for trimming and AOT.")]
    [RequiresDynamicCode("Reflection-based JSON. Use GetAsync<T>(key) or the JsonTypeInfo<T> overload for trimming and AOT.")]
    public async ValueTask<T?> GetAsync<T>(string key, JsonSerializerOptions? options, CancellationToken cancellationToken = default)
    {
        await LoadAsync(cancellationToken).ConfigureAwait(false);
        return Get<T>(key, options);
    }

    /// <summary>
    /// Serializes and sets a key with the type information <see cref="JsonOptions"/> holds for <typeparamref name="T"/>.
    /// Does not load the session.
    /// </summary>
    /// <typeparam name="T">The value's type.</typeparam>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <exception cref="InvalidOperationException"><see cref="JsonOptions"/> has no type information for <typeparamref name="T"/>.</exception>
    public void Set<T>(string key, T value) => Set(key, value, TypeInfo<T>());

    /// <summary>Serializes and sets a key. Does not load the session.</summary>
    /// <typeparam name="T">The value's type.</typeparam>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <param name="typeInfo">Source-generated metadata for <typeparamref name="T"/>.</param>
    public void Set<T>(string key, T value, JsonTypeInfo<T> typeInfo)
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        SetBytes(key, JsonSerializer.SerializeToUtf8Bytes(value, typeInfo));
    }

    /// <summary>Serializes and sets a key with reflection-based System.Text.Json. Does not load the session.</summary>
    /// <typeparam name="T">The value's type.</typeparam>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <param name="options">Serializer options, or <see langword="null"/> for <see cref="JsonSerializerOptions.Web"/>.</param>
    [RequiresUnreferencedCode("Reflection-based JSON. Use Set<T>(key, value) or the JsonTypeInfo<T> overload for trimming and AOT.")]
    [RequiresDynamicCode("Reflection-based JSON. Use Set<T>(key, value) or the JsonTypeInfo<T> overload for trimming and AOT.")]
    public void Set<T>(string key, T value, JsonSerializerOptions? options)
        => SetBytes(key, JsonSerializer.SerializeToUtf8Bytes(value, options ?? JsonSerializerOptions.Web));

    /// <summary>Removes a key. Does not load the session.</summary>
    /// <param name="key">The key.</param>
    /// <exception cref="InvalidOperationException">The session is read-only (<see cref="MakeReadOnly"/>).</exception>
    public void Remove(string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ThrowIfReadOnly();
        _upserts?.Remove(key);
        (_removals ??= new(StringComparer.Ordinal)).Add(key);
    }

    /// <summary>Removes every key. Committing a session with no keys deletes it.</summary>
    /// <exception cref="InvalidOperationException">The session is read-only (<see cref="MakeReadOnly"/>).</exception>
    public void Clear()
    {
        ThrowIfReadOnly();
        _upserts?.Clear();
        _removals?.Clear();
        _cleared = true;
    }

    /// <summary>Moves the session to a new id on commit, keeping its data and invalidating the old ticket. Call it after sign-in.</summary>
    /// <exception cref="InvalidOperationException">The session is read-only (<see cref="MakeReadOnly"/>).</exception>
    public void RotateId()
    {
        ThrowIfReadOnly();
        _rotate = true;
    }

    /// <summary>Deletes the session on commit. Call it at sign-out.</summary>
    /// <exception cref="InvalidOperationException">The session is read-only (<see cref="MakeReadOnly"/>).</exception>
    public void Revoke()
    {
        ThrowIfReadOnly();
        _revoke = true;
    }

    /// <summary>
    /// Asks the store to re-issue the ticket on commit with an idle deadline starting now, even if nothing changed. Only
    /// client-held stores need it (their deadline travels in the ticket); other stores already slid it on load and ignore it.
    /// The ASP.NET Core middleware calls it for client-held sessions a request read without changing.
    /// </summary>
    /// <exception cref="InvalidOperationException">The session is read-only (<see cref="MakeReadOnly"/>).</exception>
    public void Refresh()
    {
        ThrowIfReadOnly();
        _refresh = true;
    }

    /// <summary>Binds the session to a user on commit, so that <see cref="ISessionStore.RevokeUserAsync"/> can end it.</summary>
    /// <param name="userId">The user's stable id.</param>
    /// <exception cref="InvalidOperationException">The session is read-only (<see cref="MakeReadOnly"/>).</exception>
    public void BindUser(string userId) => BindUser(userId, null);

    /// <summary>
    /// Binds the session to a user on commit, and keeps small metadata with it that a user's listing shows back
    /// (<see cref="ISessionLister.ListUserSessionsAsync"/>), such as the user agent and client address of the sign-in (the
    /// cookie ticket store of StateKit.AspNetCore passes those).
    /// </summary>
    /// <param name="userId">The user's stable id.</param>
    /// <param name="metadata">
    /// At most 8 entries, keys up to 64 characters, values up to 512; <see langword="null"/> for none. Copied.
    /// </param>
    /// <exception cref="ArgumentException">The metadata is over those bounds.</exception>
    /// <exception cref="InvalidOperationException">The session is read-only (<see cref="MakeReadOnly"/>).</exception>
    public void BindUser(string userId, IReadOnlyDictionary<string, string>? metadata)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        var checkedMetadata = UserSessionListing.Validate(metadata, nameof(metadata));
        ThrowIfReadOnly();
        _bindUserId = userId;
        _signInMetadata = checkedMetadata;
    }

    /// <summary>
    /// Makes every later change (<c>Set</c>, <see cref="Remove"/>, <see cref="Clear"/>, <see cref="RotateId"/>,
    /// <see cref="Revoke"/>, <see cref="Refresh"/>, <see cref="BindUser(string)"/>) throw <see cref="InvalidOperationException"/>
    /// whose message names the session (its <see cref="Id"/>, once known) and gives <paramref name="reason"/>; reads and
    /// loads still work. The ASP.NET Core middleware calls it once
    /// the response has started: the session was saved then, and a later change could reach neither the store nor the client.
    /// Made read-only before <see cref="CommitAsync(CancellationToken)"/>, a loaded session keeps what it read and wrote
    /// readable after the commit, without another load (it does not see what concurrent requests committed meanwhile).
    /// </summary>
    /// <param name="reason">Why the session cannot change and what to do instead, for the exception's message. It is kept as given
    /// (the message is composed only when a change is refused), so one string may serve every session.</param>
    public void MakeReadOnly(string reason)
    {
        ArgumentException.ThrowIfNullOrEmpty(reason);
        _readOnlyReason = reason;
    }

    /// <summary>
    /// Drops every change not yet committed and forgets what was loaded, so that the next read loads the stored session
    /// again: what a read-modify-write does after <see cref="CommitAsync(SessionCommitMode, CancellationToken)"/> reported a
    /// conflict. The ticket, and a change of it by an earlier commit, are kept.
    /// </summary>
    /// <exception cref="InvalidOperationException">The session is read-only (<see cref="MakeReadOnly"/>).</exception>
    public void DiscardChanges()
    {
        ThrowIfReadOnly();
        _upserts = null;
        _removals = null;
        _cleared = _rotate = _revoke = _refresh = false;
        _bindUserId = null;
        _signInMetadata = null;
        _snapshot = null;
        _loaded = false;
    }

    /// <summary>
    /// Writes this request's changes, merging them per key with whatever concurrent requests committed, and returns the ticket to carry next.
    /// A session with no changes costs nothing.
    /// </summary>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>The outcome. <see cref="Ticket"/> is updated to match.</returns>
    /// <exception cref="SessionPayloadTooLargeException">The session would exceed the store's limit; nothing was written and the changes are kept.</exception>
    /// <exception cref="SessionStoreUnavailableException">The store could not be reached; the changes are kept.</exception>
    public ValueTask<SessionCommitResult> CommitAsync(CancellationToken cancellationToken = default)
        => CommitAsync(SessionCommitMode.MergeKeys, cancellationToken);

    /// <summary>
    /// Writes this request's changes with the given conflict mode. With <see cref="SessionCommitMode.RequireBaseVersion"/> a
    /// session committed by someone else since this one loaded reports <see cref="SessionCommitOutcome.Conflict"/>, writes
    /// nothing and keeps the changes; call <see cref="DiscardChanges"/> and start again from a fresh load to retry.
    /// </summary>
    /// <param name="mode">How a stale load is treated.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>The outcome. <see cref="Ticket"/> is updated to match, except on a conflict.</returns>
    /// <exception cref="SessionPayloadTooLargeException">The session would exceed the store's limit; nothing was written and the changes are kept.</exception>
    /// <exception cref="SessionStoreUnavailableException">The store could not be reached; the changes are kept.</exception>
    public ValueTask<SessionCommitResult> CommitAsync(SessionCommitMode mode, CancellationToken cancellationToken)
    {
        if (!HasChanges && !_refresh)
        {
            return new(SessionCommitResult.NoChange);
        }

        // A ticket that loaded as "no session" names nothing: write as a brand-new session.
        var ticket = _loaded && _snapshot is null ? null : _ticket;
        if (_revoke)
        {
            return RevokeCoreAsync(ticket, cancellationToken);
        }

        // Stores that complete synchronously (memory, sticky) finish here, without an async state machine; anything
        // else, and the rare retry below, continues in CommitCoreAsync. A store that throws synchronously still
        // surfaces its exception through the returned task, as an async method would.
        try
        {
            var pending = CommitChangesAsync(ticket, mode, cancellationToken);
            if (!pending.IsCompletedSuccessfully)
            {
                return CommitCoreAsync(pending, ticket, mode, cancellationToken);
            }

            var result = pending.Result;
            if (NeedsNewSession(result, ticket, mode))
            {
                return CommitCoreAsync(new(result), ticket, mode, cancellationToken);
            }

            if (result.Outcome != SessionCommitOutcome.Conflict)
            {
                AfterCommit(result);
            }

            return new(result);
        }
        catch (OperationCanceledException e) when (e.CancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<SessionCommitResult>(e.CancellationToken);
        }
#pragma warning disable CA1031 // Not swallowed: handed to the caller through the task, as an async method does.
        catch (Exception e)
#pragma warning restore CA1031
        {
            return ValueTask.FromException<SessionCommitResult>(e);
        }
    }

    // The session expired or was revoked after the ticket was issued. Its old data stays gone; this request's own
    // writes start a new session rather than vanishing.
    private static bool NeedsNewSession(SessionCommitResult result, string? ticket, SessionCommitMode mode)
        => result.Outcome == SessionCommitOutcome.NotFound && ticket is not null && mode == SessionCommitMode.MergeKeys;

    private async ValueTask<SessionCommitResult> CommitCoreAsync(ValueTask<SessionCommitResult> pending, string? ticket, SessionCommitMode mode, CancellationToken cancellationToken)
    {
        var result = await pending.ConfigureAwait(false);
        if (NeedsNewSession(result, ticket, mode))
        {
            result = await CommitChangesAsync(null, mode, cancellationToken).ConfigureAwait(false);
            if (result.Outcome == SessionCommitOutcome.NoChange)
            {
                result = SessionCommitResult.Deleted;
            }
        }

        if (result.Outcome != SessionCommitOutcome.Conflict)
        {
            AfterCommit(result);
        }

        return result;
    }

    private async ValueTask<SessionCommitResult> RevokeCoreAsync(string? ticket, CancellationToken cancellationToken)
    {
        var result = ticket is null
            ? SessionCommitResult.Deleted
            : await _store.CommitAsync(new SessionCommit { Ticket = ticket, Base = _snapshot, Revoke = true }, cancellationToken).ConfigureAwait(false);
        if (result.Outcome != SessionCommitOutcome.Conflict)
        {
            AfterCommit(result);
        }

        return result;
    }

    private ValueTask<SessionCommitResult> CommitChangesAsync(string? ticket, SessionCommitMode mode, CancellationToken cancellationToken)
    {
        if (ticket is null && (_upserts is null || _upserts.Count == 0))
        {
            // A new session with no keys would be deleted at once: do not create it.
            return ValueTask.FromResult(SessionCommitResult.NoChange);
        }

        var commit = new SessionCommit
        {
            Ticket = ticket,
            Base = ticket is null ? null : _snapshot,
            Upserts = _upserts is { Count: > 0 } ? _upserts : SessionCommit.NoUpserts,
            // Not `[]`: next to a HashSet<string> that builds a new, empty HashSet on every commit.
            Removals = ticket is not null && _removals is { Count: > 0 } ? _removals : Array.Empty<string>(),
            ClearExisting = ticket is not null && _cleared,
            RotateId = ticket is not null && _rotate,
            BindUserId = _bindUserId,
            SignInMetadata = _bindUserId is null ? null : _signInMetadata,
            Refresh = _refresh,
            Mode = mode,

            // SetBytes copied every value into an array of its own, and after the commit the session drops them.
            UpsertsAreImmutable = true,
        };
        return _store.CommitAsync(commit, cancellationToken);
    }

    private void AfterCommit(SessionCommitResult result)
    {
        switch (result.Outcome)
        {
            case SessionCommitOutcome.Deleted:
            case SessionCommitOutcome.NotFound:
                _ticket = null;
                break;
            case SessionCommitOutcome.Committed when result.Ticket is not null:
                _ticket = result.Ticket;
                break;
        }

        SetBearerId(_ticket is null ? null : result.SessionId ?? _id, result.ListedId);

        // A read-only session has no next commit, so what it saw and wrote stays readable without another load; any other
        // session goes back to the store on its next read, since a base without the store's version would break the next merge.
        var view = _readOnlyReason is not null && _ticket is not null && result.Outcome == SessionCommitOutcome.Committed ? ReadView(result) : null;
        _upserts = null;
        _removals = null;
        _cleared = _rotate = _revoke = _refresh = false;
        _bindUserId = null;
        _signInMetadata = null;
        _snapshot = view;
        _loaded = _ticket is null || view is not null;
    }

    // The values this request read, with its own changes applied; null when it wrote without loading (the rest is unknown).
    private SessionSnapshot? ReadView(SessionCommitResult result)
    {
        if (!_loaded)
        {
            return null;
        }

        var values = new Dictionary<string, ReadOnlyMemory<byte>>(StringComparer.Ordinal);
        if (!_cleared && _snapshot is not null)
        {
            foreach (var (key, value) in _snapshot.Values)
            {
                values[key] = value;
            }
        }

        if (_removals is not null)
        {
            foreach (var key in _removals)
            {
                values.Remove(key);
            }
        }

        if (_upserts is not null)
        {
            foreach (var (key, value) in _upserts)
            {
                values[key] = value;
            }
        }

        return new SessionSnapshot(_id ?? string.Empty, result.Version, values)
        {
            CreatedAt = _snapshot?.CreatedAt ?? default,
            LastAccessedAt = _snapshot?.LastAccessedAt ?? default,
            AbsoluteExpiresAt = result.AbsoluteExpiresAt ?? _snapshot?.AbsoluteExpiresAt ?? default,
            IdleTimeout = _snapshot?.IdleTimeout ?? default,
            UserId = _bindUserId ?? _snapshot?.UserId,
        };
    }

    private async ValueTask LoadCoreAsync(ValueTask<SessionSnapshot?> pending)
        => OnLoaded(await pending.ConfigureAwait(false));

    private void OnLoaded(SessionSnapshot? snapshot)
    {
        _snapshot = snapshot;
        SetBearerId(snapshot?.Id, snapshot?.ListedId);
        if (snapshot?.ReissuedTicket is { } reissued)
        {
            // The store moved the session while loading it (sticky failover): the client must carry the new ticket.
            _ticket = reissued;
        }

        _loaded = true;
    }

    // A store that lists the session under another public id than the hash of its id (tiered) says which.
    private void SetBearerId(string? id, string? listedId)
    {
        if (!string.Equals(id, _id, StringComparison.Ordinal))
        {
            _id = id;
            _listedId = listedId;
            _publicId = null;
        }
        else if (listedId is not null && !string.Equals(listedId, _listedId, StringComparison.Ordinal))
        {
            _listedId = listedId;
            _publicId = null;
        }
    }

    private JsonTypeInfo<T> TypeInfo<T>()
    {
        StateKitJsonOptions.MakeReadOnly(_json);
        if (_json.TryGetTypeInfo(typeof(T), out var info) && info is JsonTypeInfo<T> typed)
        {
            return typed;
        }

        var name = typeof(T).Name;
        throw new InvalidOperationException(
            $"StateKit has no JSON type information for '{typeof(T)}'. Add [JsonSerializable(typeof({name}))] to your JsonSerializerContext and register it once: " +
            "services.AddStateKit(kit => kit.ConfigureJson(o => o.TypeInfoResolverChain.Insert(0, AppJson.Default))). " +
            "Under native AOT and trimming StateKit never falls back to reflection.");
    }

    private void ThrowIfReadOnly()
    {
        if (_readOnlyReason is not null)
        {
            throw new InvalidOperationException(Id is { } id ? $"Session {id} is read-only: {_readOnlyReason}" : $"The session is read-only: {_readOnlyReason}");
        }
    }

    private void ThrowIfNotLoaded()
    {
        if (!_loaded)
        {
            throw new InvalidOperationException("The session has not been loaded. Await LoadAsync (or use GetAsync) before reading; writes need no load.");
        }
    }
}
