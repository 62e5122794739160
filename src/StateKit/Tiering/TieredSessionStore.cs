using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Options;

namespace StateKit.Tiering;

/// <summary>
/// One session spread over several stores: each key belongs to a named tier (its own store, with its own guarantees and
/// resilience), loads of several tiers run concurrently, and a commit writes only the tiers whose keys changed.
/// </summary>
/// <remarks>
/// <para>
/// The ticket is a composite of the tier tickets (see <see cref="ICompositeTicketStore"/>; format <c>v1!tier=ticket!...</c>),
/// so a transport can carry each tier's ticket separately. A malformed composite, or one naming an unknown tier, loads as
/// no session. The session id is the composite of the tier ids in the same format, and the version is the sum of the tier
/// versions, so it grows with every tier commit.
/// </para>
/// <para>
/// Capabilities are derived from the tiers: the smallest <see cref="SessionStoreCapabilities.MaxPayloadBytes"/> less the
/// 25 bytes of the binding (a session that size fits every tier; each tier still enforces its own limit), <see cref="SessionStoreCapabilities.SurvivesNodeLoss"/>
/// only when every tier does, the weakest concurrency, the revocation every tier supports, and the location
/// <see cref="StateLocation.Client"/> if any tier keeps state in the ticket, else <see cref="StateLocation.Process"/> if any
/// tier is process-local, else <see cref="StateLocation.Server"/> (the location that constrains the app most).
/// </para>
/// <para>
/// The parts belong together: each carries the session's binding id in a hidden key (<see cref="BindingKey"/>), and a load
/// keeps only the parts whose binding matches the one of the most trusted part present (server-held before client-held,
/// then by tier name); any other part is treated as absent. <c>RotateId</c> and a new session mint a new binding, so an old
/// part replayed next to newer ones, or a part from another session, never joins the composite (docs/tiering.md).
/// </para>
/// <para>
/// A commit is not atomic across tiers: each tier commits on its own, in tier-name order. Under
/// <see cref="SessionCommitMode.RequireBaseVersion"/> a conflict in one tier stops the commit, but tiers committed before it stay written.
/// </para>
/// </remarks>
public sealed class TieredSessionStore : ISessionStore, ISessionLister, ICompositeTicketStore
{
    /// <summary>The hidden key every tier part keeps the session's binding id under; applications may not write it.</summary>
    internal const string BindingKey = "$stk.bind";

    /// <summary>The binding id's length: 128 bits from the OS CSPRNG.</summary>
    internal const int BindingBytes = 16;

    /// <summary>What the binding takes of each part's payload limit: its key and its value, as every store measures them.</summary>
    internal const int BindingPayloadBytes = 9 + BindingBytes;

    private readonly Dictionary<string, ISessionStore> _tiers;
    private readonly string[] _names;

    // The tier names in the order a load picks the reference binding: server-held tiers first, then client-held ones,
    // each by name. A client chooses which client-held part it presents; a server-held part it can only present or drop.
    private readonly string[] _trustOrder;
    private readonly TieredSessionStoreOptions _options;

    // The tier whose user index lists, limits and ends signed-in sessions: the most trusted tier that lists, or null.
    private readonly string? _indexTier;

    // The parts behind each composite snapshot a load handed out, so that a commit based on it can check each tier's version
    // and knows the session's binding.
    private readonly ConditionalWeakTable<SessionSnapshot, LoadedParts> _bases = [];

    /// <summary>Initializes a new instance of the <see cref="TieredSessionStore"/> class.</summary>
    /// <param name="tiers">Each tier's store by tier name.</param>
    /// <param name="options">Which keys go to which tier; validated here.</param>
    /// <exception cref="OptionsValidationException">A tier name or mapping is invalid; the message lists each one.</exception>
    public TieredSessionStore(IReadOnlyDictionary<string, ISessionStore> tiers, TieredSessionStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(tiers);
        ArgumentNullException.ThrowIfNull(options);
        OptionsValidation.ThrowIfAny(typeof(TieredSessionStoreOptions), options.GetValidationErrors(tiers.Keys.ToArray()));

        _tiers = new Dictionary<string, ISessionStore>(tiers, StringComparer.Ordinal);
        _names = [.. _tiers.Keys.Order(StringComparer.Ordinal)];
        _trustOrder = [.. _names.OrderBy(n => _tiers[n].Capabilities.Location == StateLocation.Client ? 1 : 0)];
        _options = options;
        _indexTier = _trustOrder.FirstOrDefault(n => _tiers[n] is ISessionLister && _tiers[n].Capabilities.ListsUserSessions);
        var all = _tiers.Values.Select(t => t.Capabilities).ToArray();
        Capabilities = new SessionStoreCapabilities
        {
            Location = all.Any(c => c.Location == StateLocation.Client) ? StateLocation.Client
                : all.Any(c => c.Location == StateLocation.Process) ? StateLocation.Process
                : StateLocation.Server,
            MaxPayloadBytes = all.Min(c => c.MaxPayloadBytes) - BindingPayloadBytes,
            SurvivesNodeLoss = all.All(c => c.SurvivesNodeLoss),
            Concurrency = all.Any(c => c.Concurrency == ConcurrencyGuarantee.LastWriterWins) ? ConcurrencyGuarantee.LastWriterWins : ConcurrencyGuarantee.CompareAndSet,
            Revocation = all.Aggregate(RevocationSupport.ById | RevocationSupport.ByUser, (r, c) => r & c.Revocation),
            SupportsBlindWrites = all.All(c => c.SupportsBlindWrites),

            // Each tier raises its own events, under its own store name.
            Events = all.Aggregate(Events.SessionEventKinds.None, (e, c) => e | c.Events),
            ListsUserSessions = _indexTier is not null,
        };
    }

    /// <inheritdoc />
    public SessionStoreCapabilities Capabilities { get; }

    /// <inheritdoc />
    public IReadOnlyList<string> PartNames => _names;

    /// <summary>
    /// Gets the tier whose user index lists a user's sessions (<see cref="ISessionLister"/>), enforces its own
    /// <c>MaxSessionsPerUser</c> for the whole session, and ends a session by public id: the first server-held tier, by
    /// name, whose store lists (<see cref="SessionStoreCapabilities.ListsUserSessions"/>); <see langword="null"/> when none does.
    /// </summary>
    /// <remarks>
    /// A session bound to a user always has a part in this tier (its binding alone if no key maps there), and is signed in
    /// only while that part lives: when the tier ends it, every other part is refused with it. See docs/user-sessions.md.
    /// </remarks>
    public string? UserIndexTier => _indexTier;

    /// <summary>Gets a tier's store.</summary>
    /// <param name="tier">The tier's name.</param>
    /// <returns>The store.</returns>
    /// <exception cref="KeyNotFoundException">No tier has that name.</exception>
    public ISessionStore GetTier(string tier) => _tiers[tier];

    /// <summary>Gets the tier a key belongs to.</summary>
    /// <param name="key">The session key.</param>
    /// <returns>The tier's name.</returns>
    public string TierOf(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return _options.TierOf(key);
    }

    internal IReadOnlyDictionary<string, string> SplitTicket(string ticket) => CompositeTicket.Split(ticket, _names);

    internal string? JoinTicket(IReadOnlyDictionary<string, string> parts) => CompositeTicket.Join(parts, _names);

    /// <inheritdoc />
    public async ValueTask<SessionSnapshot?> LoadAsync(string ticket, CancellationToken cancellationToken = default)
    {
        var (loaded, _) = await LoadPartsAsync(ticket, cancellationToken).ConfigureAwait(false);
        return loaded is null ? null : Compose(loaded);
    }

    /// <summary>
    /// The parts of a session that bind, or <see langword="null"/> when none does; <c>Ended</c> when they are those of a
    /// signed-in session whose part in the <see cref="UserIndexTier"/> is gone (see <see cref="Anchored"/>).
    /// </summary>
    private async ValueTask<(LoadedParts? Loaded, bool Ended)> LoadPartsAsync(string ticket, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (!CompositeTicket.TryParse(ticket, out var parts) || !parts.Keys.All(_tiers.ContainsKey))
        {
            return (null, false);
        }

        // Every tier's load starts before any is awaited: the slowest tier sets the latency, not the sum.
        var names = parts.Keys.ToArray();
        var snapshots = new SessionSnapshot?[names.Length];
        if (names.Length == 1)
        {
            snapshots[0] = await _tiers[names[0]].LoadAsync(parts[names[0]], cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var loads = new Task<SessionSnapshot?>[names.Length];
            for (var i = 0; i < names.Length; i++)
            {
                loads[i] = _tiers[names[i]].LoadAsync(parts[names[i]], cancellationToken).AsTask();
            }

            await Task.WhenAll(loads).ConfigureAwait(false);
            for (var i = 0; i < names.Length; i++)
            {
                snapshots[i] = loads[i].Result;
            }
        }

        var byTier = new Dictionary<string, SessionSnapshot>(StringComparer.Ordinal);
        for (var i = 0; i < names.Length; i++)
        {
            if (snapshots[i] is { } snapshot)
            {
                byTier[names[i]] = snapshot;
            }
        }

        var loaded = Bind(byTier);
        if (loaded.Tiers.Count == 0)
        {
            return (null, false);
        }

        return Anchored(loaded) ? (loaded, false) : (null, true);
    }

    /// <inheritdoc />
    public async ValueTask<SessionCommitResult> CommitAsync(SessionCommit commit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(commit);
        cancellationToken.ThrowIfCancellationRequested();
        if (!commit.NeedsWrite(Capabilities.Location))
        {
            return SessionCommitResult.NoChange;
        }

        var parts = new Dictionary<string, string>(StringComparer.Ordinal);
        if (commit.Ticket is not null && (!CompositeTicket.TryParse(commit.Ticket, out parts) || !parts.Keys.All(_tiers.ContainsKey)))
        {
            return SessionCommitResult.NotFound;
        }

        LoadedParts? loaded = null;
        if (commit.Base is not null)
        {
            _bases.TryGetValue(commit.Base, out loaded);
        }

        var changes = Partition(commit);

        // A sign-in binds the session in the tier that keeps the user index first, creating its part there if need be:
        // that tier's limit judges it before any other tier is written, and its part is what a listing shows.
        var anchor = _indexTier is not null && commit.BindUserId is not null && !commit.Revoke ? _indexTier : null;
        if (commit.Ticket is not null && loaded is null && !commit.Revoke && (_indexTier is not null || NeedsBinding(commit, changes, parts)))
        {
            // A blind write that creates a tier or rewrites bindings: the binding lives in the parts, so read it once. With
            // an index tier every blind write reads, so that none lands in a signed-in session the index tier has ended.
            (loaded, var ended) = await LoadPartsAsync(commit.Ticket, cancellationToken).ConfigureAwait(false);
            if (ended)
            {
                await EndPartsAsync(parts, except: null, cancellationToken).ConfigureAwait(false);
                return SessionCommitResult.NotFound;
            }
        }

        // A part that did not bind is absent: this commit neither writes into it nor carries it on.
        foreach (var rejected in loaded?.Rejected ?? [])
        {
            parts.Remove(rejected);
        }

        var bases = loaded?.Tiers;
        var boundBefore = commit.Base?.UserId ?? UserOf(loaded);

        // A new session, and a rotation, get a new binding; a session from before bindings gets its first one, in every part.
        var unbound = commit.Ticket is not null && loaded is not null && loaded.Binding is null;
        // Drawn only when a part is written with it: most commits write none.
        var renew = commit.Ticket is null || commit.RotateId || unbound || loaded is null;
        byte[]? drawn = renew ? null : loaded!.Binding;
        var rebindAll = commit.RotateId || unbound;
        var everyTier = commit.Revoke || commit.ClearExisting || rebindAll || commit.BindUserId is not null || commit.Refresh;
        var boundAfter = commit.Revoke ? null : commit.BindUserId ?? boundBefore;
        var involved = _names.Where(t => changes.ContainsKey(t) || (everyTier && parts.ContainsKey(t)) || t == anchor).ToList();
        if (_indexTier is not null && involved.Remove(_indexTier))
        {
            involved.Insert(0, _indexTier);
        }

        var outcomes = new List<(string Tier, SessionCommitResult Result, TierChanges Changes)>(involved.Count);
        foreach (var tier in involved)
        {
            changes.TryGetValue(tier, out var delta);
            delta ??= TierChanges.Empty;
            parts.TryGetValue(tier, out var tierTicket);
            SessionCommitResult result;
            if (tierTicket is null)
            {
                if (commit.Revoke || (delta.Upserts.Count == 0 && tier != anchor))
                {
                    continue;
                }

                result = await CreateAsync(tier, delta, drawn ??= NewBinding(), commit.BindUserId ?? commit.Base?.UserId, commit.SignInMetadata, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                SessionSnapshot? tierBase = null;
                bases?.TryGetValue(tier, out tierBase);
                var upserts = delta.Upserts;
                var clear = commit.ClearExisting;

                // A bound session keeps its part in the index tier, its binding alone if nothing else is left.
                var keep = tier == _indexTier && boundAfter is not null;
                if (!commit.Revoke && !keep && LeavesOnlyTheBinding(tierBase, delta, clear))
                {
                    // Nothing of the application's would be left: delete the part rather than keep a binding alone.
                    upserts = [];
                    clear = true;
                }
                else if (!commit.Revoke && (rebindAll || (clear && (upserts.Count > 0 || keep))))
                {
                    upserts = new Dictionary<string, ReadOnlyMemory<byte>>(upserts, StringComparer.Ordinal) { [BindingKey] = drawn ??= NewBinding() };
                }

                result = await CommitTierAsync(
                    tier,
                    new SessionCommit
                    {
                        Ticket = tierTicket,
                        Base = tierBase,
                        Upserts = upserts,
                        Removals = clear && upserts.Count == 0 ? [] : delta.Removals,
                        ClearExisting = clear,
                        RotateId = commit.RotateId,
                        Revoke = commit.Revoke,
                        BindUserId = commit.BindUserId,
                        SignInMetadata = commit.SignInMetadata,
                        Refresh = commit.Refresh,
                        Mode = commit.Mode,
                    },
                    cancellationToken).ConfigureAwait(false);
                if (result.Outcome == SessionCommitOutcome.Conflict)
                {
                    return SessionCommitResult.Conflict;
                }

                if (tier == _indexTier && result.Outcome == SessionCommitOutcome.NotFound && !commit.Revoke)
                {
                    if (boundBefore is not null)
                    {
                        // The index tier ended the signed-in session (revoked from a listing, or signed out by its limit):
                        // the whole session is over, and nothing of it is written anew.
                        await EndPartsAsync(parts, tier, cancellationToken).ConfigureAwait(false);
                        return SessionCommitResult.NotFound;
                    }

                    if (tier == anchor)
                    {
                        // Expired while anonymous: the sign-in starts the part anew, judged by the limit before any other tier.
                        result = await CreateAsync(tier, delta, drawn ??= NewBinding(), commit.BindUserId, commit.SignInMetadata, cancellationToken).ConfigureAwait(false);
                    }
                }
            }

            if (result.Outcome == SessionCommitOutcome.SessionLimitReached)
            {
                // Only a tier that keeps a user index refuses; the index tier goes first, so nothing is written yet.
                return result;
            }

            outcomes.Add((tier, result, delta));
        }

        if (outcomes.Count == 0)
        {
            return SessionCommitResult.NoChange;
        }

        if (commit.Ticket is not null && outcomes.All(o => o.Result.Outcome == SessionCommitOutcome.NotFound))
        {
            // The whole session is gone: say so, and let the caller decide whether its writes start a new one.
            return SessionCommitResult.NotFound;
        }

        var results = new Dictionary<string, SessionCommitResult>(StringComparer.Ordinal);
        for (var i = 0; i < outcomes.Count; i++)
        {
            var (tier, result, delta) = outcomes[i];
            if (result.Outcome == SessionCommitOutcome.NotFound && commit.Mode == SessionCommitMode.MergeKeys && delta.Upserts.Count > 0)
            {
                // This tier's session expired while others live: its old data stays gone; this commit's keys start it anew.
                result = await CreateAsync(tier, delta, drawn ??= NewBinding(), commit.BindUserId ?? commit.Base?.UserId, null, cancellationToken).ConfigureAwait(false);
            }

            switch (result.Outcome)
            {
                case SessionCommitOutcome.Committed:
                    parts[tier] = result.Ticket ?? parts[tier];
                    results[tier] = result;
                    break;
                case SessionCommitOutcome.Deleted:
                case SessionCommitOutcome.NotFound:
                    parts.Remove(tier);
                    break;
            }
        }

        var ticket = CompositeTicket.Join(parts);
        if (ticket is null)
        {
            return SessionCommitResult.Deleted;
        }

        if (results.Count == 0 && ticket == commit.Ticket)
        {
            return SessionCommitResult.NoChange;
        }

        return Combine(parts, results, bases, ticket == commit.Ticket ? null : ticket, _indexTier);
    }

    /// <inheritdoc />
    public async ValueTask<bool> RevokeAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sessionId);
        if (!Capabilities.Revocation.HasFlag(RevocationSupport.ById))
        {
            throw new NotSupportedException("A tier of this store cannot revoke sessions by id; see Capabilities.Revocation.");
        }

        if (!CompositeTicket.TryParse(sessionId, out var ids) || !ids.Keys.All(_tiers.ContainsKey))
        {
            return false;
        }

        var revoked = false;
        foreach (var (tier, id) in ids)
        {
            revoked |= await _tiers[tier].RevokeAsync(id, cancellationToken).ConfigureAwait(false);
        }

        return revoked;
    }

    /// <inheritdoc />
    /// <exception cref="NotSupportedException">No tier keeps a user index that lists (see <see cref="UserIndexTier"/>).</exception>
    /// <remarks>
    /// The <see cref="UserIndexTier"/>'s listing: a tiered session appears once, under the public id of its part there, which
    /// is what <see cref="StateSession.Id"/> shows for it; times and sign-in metadata are that part's.
    /// </remarks>
    public ValueTask<UserSessionPage> ListUserSessionsAsync(string userId, string? continuationToken = null, int pageSize = UserSessionPage.DefaultPageSize, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userId);
        UserSessionListing.ThrowIfBadPageSize(pageSize);
        return IndexLister().ListUserSessionsAsync(userId, continuationToken, pageSize, cancellationToken);
    }

    /// <inheritdoc />
    /// <exception cref="NotSupportedException">No tier keeps a user index that lists (see <see cref="UserIndexTier"/>).</exception>
    /// <remarks>
    /// Ends the session's part in the <see cref="UserIndexTier"/>; the whole tiered session ends with it: a load refuses
    /// every other part of a signed-in session whose index part is gone. The other tiers' parts cannot be named from a
    /// listing (their ids are not derived from the public id): server-held ones stay unreachable in their store until they
    /// expire (a blind write on the old ticket deletes those it names), and client-held ones load as nothing.
    /// </remarks>
    public ValueTask<bool> RevokeUserSessionAsync(string userId, string publicId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userId);
        ArgumentNullException.ThrowIfNull(publicId);
        return IndexLister().RevokeUserSessionAsync(userId, publicId, cancellationToken);
    }

    private ISessionLister IndexLister() => _indexTier is not null
        ? (ISessionLister)_tiers[_indexTier]
        : throw new NotSupportedException(
            "No tier of this tiered store keeps a user index that lists sessions (Capabilities.ListsUserSessions of each tier's store). Give the tiered store a server-side tier whose store lists, e.g. Redis (AddTier(\"critical\", t => t.UseRedis(...))): it becomes the UserIndexTier.");

    /// <summary>Revokes every session of a user in every tier.</summary>
    /// <param name="userId">The user.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>The most sessions any one tier revoked: a session spanning tiers counts once.</returns>
    public async ValueTask<int> RevokeUserAsync(string userId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userId);
        if (!Capabilities.Revocation.HasFlag(RevocationSupport.ByUser))
        {
            throw new NotSupportedException("A tier of this store keeps no user index; see Capabilities.Revocation.");
        }

        var most = 0;
        foreach (var name in _names)
        {
            most = Math.Max(most, await _tiers[name].RevokeUserAsync(userId, cancellationToken).ConfigureAwait(false));
        }

        return most;
    }

    private ValueTask<SessionCommitResult> CreateAsync(string tier, TierChanges delta, byte[] binding, string? userId, IReadOnlyDictionary<string, string>? signInMetadata, CancellationToken cancellationToken)
        => CommitTierAsync(
            tier,
            new SessionCommit
            {
                Upserts = new Dictionary<string, ReadOnlyMemory<byte>>(delta.Upserts, StringComparer.Ordinal) { [BindingKey] = binding },
                BindUserId = userId,
                SignInMetadata = userId is null ? null : signInMetadata,
            },
            cancellationToken);

    /// <summary>Deletes the parts of a session other than <paramref name="except"/>, each in its tier, as far as each tier can.</summary>
    private async ValueTask EndPartsAsync(Dictionary<string, string> parts, string? except, CancellationToken cancellationToken)
    {
        foreach (var (tier, ticket) in parts)
        {
            if (tier != except)
            {
                await _tiers[tier].CommitAsync(new SessionCommit { Ticket = ticket, Revoke = true }, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Whether a load may stand: a session bound to a user is signed in only while its part in the index tier lives and is
    /// bound (the index tier is what lists it, limits it and ends it by public id); an anonymous one needs no such part.
    /// </summary>
    private bool Anchored(LoadedParts loaded)
        => _indexTier is null
            || UserOf(loaded) is null
            || (loaded.Tiers.TryGetValue(_indexTier, out var anchor) && anchor.UserId is not null);

    /// <summary>The user the loaded parts are bound to: the reference part's, else any part's.</summary>
    private static string? UserOf(LoadedParts? loaded)
    {
        if (loaded is null)
        {
            return null;
        }

        if (loaded.Reference is not null && loaded.Tiers.TryGetValue(loaded.Reference, out var reference) && reference.UserId is not null)
        {
            return reference.UserId;
        }

        return loaded.Tiers.Values.FirstOrDefault(s => s.UserId is not null)?.UserId;
    }

    /// <summary>Commits one tier; a payload refusal is reported against the application's share of the limit, as <see cref="Capabilities"/> states it.</summary>
    private async ValueTask<SessionCommitResult> CommitTierAsync(string tier, SessionCommit commit, CancellationToken cancellationToken)
    {
        try
        {
            return await _tiers[tier].CommitAsync(commit, cancellationToken).ConfigureAwait(false);
        }
        catch (SessionPayloadTooLargeException e) when (e.LimitName == nameof(SessionStoreOptions.MaxPayloadBytes))
        {
            throw new SessionPayloadTooLargeException(e.Size - BindingPayloadBytes, e.Limit - BindingPayloadBytes, e.LimitName);
        }
    }

    private static byte[] NewBinding() => RandomNumberGenerator.GetBytes(BindingBytes);

    private static bool TryGetBinding(SessionSnapshot snapshot, out ReadOnlyMemory<byte> binding)
        => snapshot.Values.TryGetValue(BindingKey, out binding) && binding.Length == BindingBytes;

    /// <summary>Whether a commit without a loaded base must read the session's binding: it creates a tier or rewrites bindings.</summary>
    private static bool NeedsBinding(SessionCommit commit, Dictionary<string, TierChanges> changes, Dictionary<string, string> parts)
        => commit.RotateId || (commit.ClearExisting && changes.Count > 0) || changes.Any(c => c.Value.Upserts.Count > 0 && !parts.ContainsKey(c.Key));

    /// <summary>Whether a tier's part would hold nothing but its binding after this commit, judged from what the request loaded.</summary>
    private static bool LeavesOnlyTheBinding(SessionSnapshot? tierBase, TierChanges delta, bool clear)
    {
        if (tierBase is null || delta.Upserts.Count > 0 || (!clear && delta.Removals.Count == 0))
        {
            return false;
        }

        return clear || tierBase.Values.Keys.All(k => k == BindingKey || delta.Removals.Contains(k));
    }

    /// <summary>
    /// Keeps the parts that belong together: those whose binding matches the most trusted bound part present. When no part
    /// carries a binding (a session from before bindings) every part is kept, and the next commit binds them all.
    /// </summary>
    private LoadedParts Bind(Dictionary<string, SessionSnapshot> byTier)
    {
        foreach (var reference in _trustOrder)
        {
            if (!byTier.TryGetValue(reference, out var snapshot) || !TryGetBinding(snapshot, out var binding))
            {
                continue;
            }

            var bound = new Dictionary<string, SessionSnapshot>(StringComparer.Ordinal);
            var rejected = new List<string>();
            foreach (var (tier, part) in byTier)
            {
                if (TryGetBinding(part, out var other) && other.Span.SequenceEqual(binding.Span))
                {
                    bound[tier] = part;
                }
                else
                {
                    rejected.Add(tier);
                }
            }

            return new LoadedParts(bound, rejected, binding.ToArray(), reference);
        }

        return new LoadedParts(byTier, [], null, _trustOrder.FirstOrDefault(byTier.ContainsKey));
    }

    private Dictionary<string, TierChanges> Partition(SessionCommit commit)
    {
        var changes = new Dictionary<string, TierChanges>(StringComparer.Ordinal);
        foreach (var (key, value) in commit.Upserts)
        {
            ThrowIfReserved(key);
            Changes(_options.TierOf(key)).Upserts[key] = value;
        }

        foreach (var key in commit.Removals)
        {
            ThrowIfReserved(key);
            Changes(_options.TierOf(key)).Removals.Add(key);
        }

        return changes;

        TierChanges Changes(string tier)
        {
            if (!changes.TryGetValue(tier, out var tierChanges))
            {
                changes[tier] = tierChanges = new TierChanges();
            }

            return tierChanges;
        }
    }

    private static void ThrowIfReserved(string key)
    {
        if (key == BindingKey)
        {
            throw new ArgumentException($"'{BindingKey}' is reserved by the tiered store: it binds a session's parts together. Choose another key.", nameof(key));
        }
    }

    private SessionSnapshot Compose(LoadedParts loaded)
    {
        var byTier = loaded.Tiers;
        var values = new Dictionary<string, ReadOnlyMemory<byte>>(StringComparer.Ordinal);
        long version = 0;
        SessionSnapshot? soonest = null;
        var createdAt = DateTimeOffset.MaxValue;
        // The parts are bound together, so they agree; the reference part speaks first all the same.
        var userId = loaded.Reference is null ? null : byTier[loaded.Reference].UserId;
        foreach (var (tier, snapshot) in byTier)
        {
            // A key found in a tier it no longer maps to is invisible: writes and removals go to its current tier only.
            foreach (var (key, value) in snapshot.Values)
            {
                if (key != BindingKey && _options.TierOf(key) == tier)
                {
                    values[key] = value;
                }
            }

            version += snapshot.Version;
            createdAt = snapshot.CreatedAt < createdAt ? snapshot.CreatedAt : createdAt;
            userId ??= snapshot.UserId;
            if (soonest is null || snapshot.ExpiresAt < soonest.ExpiresAt)
            {
                soonest = snapshot;
            }
        }

        var composite = new SessionSnapshot(CompositeTicket.Join(byTier.Select(t => KeyValuePair.Create(t.Key, t.Value.Id)))!, version, values)
        {
            CreatedAt = createdAt,
            LastAccessedAt = soonest!.LastAccessedAt,
            AbsoluteExpiresAt = byTier.Values.Min(s => s.AbsoluteExpiresAt),
            IdleTimeout = soonest.IdleTimeout,
            UserId = userId,
            ListedId = _indexTier is not null && byTier.TryGetValue(_indexTier, out var anchor) ? anchor.Id : null,
        };
        _bases.AddOrUpdate(composite, loaded);
        return composite;
    }

    private static SessionCommitResult Combine(
        Dictionary<string, string> parts,
        Dictionary<string, SessionCommitResult> results,
        Dictionary<string, SessionSnapshot>? bases,
        string? newTicket,
        string? indexTier)
    {
        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        long version = 0;
        DateTimeOffset? expiresAt = null;
        DateTimeOffset? absoluteExpiresAt = null;
        foreach (var tier in parts.Keys)
        {
            if (results.TryGetValue(tier, out var result))
            {
                ids[tier] = result.SessionId ?? string.Empty;
                version += result.Version;
                expiresAt = Min(expiresAt, result.ExpiresAt);
                absoluteExpiresAt = Min(absoluteExpiresAt, result.AbsoluteExpiresAt);
            }
            else if (bases is not null && bases.TryGetValue(tier, out var snapshot))
            {
                // Untouched by this commit: what the request loaded is still the tier's state as far as it knows.
                ids[tier] = snapshot.Id;
                version += snapshot.Version;
                expiresAt = Min(expiresAt, snapshot.ExpiresAt);
                absoluteExpiresAt = Min(absoluteExpiresAt, snapshot.AbsoluteExpiresAt);
            }
        }

        return new SessionCommitResult
        {
            Outcome = SessionCommitOutcome.Committed,
            Ticket = newTicket,
            SessionId = CompositeTicket.Join(ids),
            ListedId = indexTier is not null && ids.TryGetValue(indexTier, out var anchorId) && anchorId.Length > 0 ? anchorId : null,
            Version = version,
            ExpiresAt = expiresAt,
            AbsoluteExpiresAt = absoluteExpiresAt,
        };
    }

    private static DateTimeOffset? Min(DateTimeOffset? a, DateTimeOffset? b)
        => a is null ? b : b is null ? a : (a < b ? a : b);

    /// <summary>What a load found: the parts that bind (by tier), those that did not, the binding, and the reference tier.</summary>
    private sealed record LoadedParts(Dictionary<string, SessionSnapshot> Tiers, List<string> Rejected, byte[]? Binding, string? Reference);

    private sealed class TierChanges
    {
        public static readonly TierChanges Empty = new();

        public Dictionary<string, ReadOnlyMemory<byte>> Upserts { get; } = new(StringComparer.Ordinal);

        public List<string> Removals { get; } = [];
    }
}
