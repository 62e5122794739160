using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace StateKit.Redis;

/// <summary>
/// Each user's set of session ids, so that "sign out everywhere" can find them. An id is added before its session can be
/// live and removed after the session is gone; ids whose session expired are pruned, from a random
/// sample, whenever the set grows, and as a listing pages through it.
/// </summary>
/// <remarks>
/// Between "added" and "live" an id has no key yet. Whoever drops such an id from the index (the prune, or sign-out
/// everywhere) first leaves a tombstone under it (<see cref="RedisScripts.Seal"/>, <see cref="RedisScripts.Revoke"/>), which
/// the create or import still in flight then finds: it gives the id up and starts over with a fresh one, indexed again.
/// So no live session of a user is ever outside the index. Tombstones live one <see cref="SessionStoreOptions.AbsoluteLifetime"/>,
/// as long as an index entry can wait for its key.
/// </remarks>
internal sealed class RedisUserIndex(RedisCommandRunner runner, RedisKeys keys, RedisSessionStoreOptions options, TimeProvider time, ILogger logger)
{
    // Set once the server refuses the one-script limit as cross-slot (Redis Cluster): later sign-ins go straight to the
    // protocol that keeps the decision in the user's slot.
    private volatile bool _spansSlots;

    /// <summary>Gets whether the limit is enforced across slots (the server refused the one-script check); for tests.</summary>
    public bool SpansSlots => _spansSlots;

    /// <summary>
    /// Adds a session to its user's index, and prunes ids whose session is gone. Under <see cref="RedisSessionStoreOptions.MaxSessionsPerUser"/>,
    /// <c>Indexed</c> is false when the limit refuses it; <c>SignedOut</c> holds the ids signed out to make room (empty without a limit).
    /// </summary>
    /// <param name="userId">The user.</param>
    /// <param name="id">The session id to index.</param>
    /// <param name="replacing">The id <paramref name="id"/> replaces (a rotation), which the limit does not count; or <see langword="null"/>.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    public async ValueTask<(bool Indexed, string[] SignedOut)> AddAsync(string userId, string id, string? replacing, CancellationToken cancellationToken)
    {
        if (options.MaxSessionsPerUser > 0)
        {
            return await AddLimitedAsync(userId, id, replacing, cancellationToken).ConfigureAwait(false);
        }

        await AddAsync(userId, id, cancellationToken).ConfigureAwait(false);
        return (true, []);
    }

    private async ValueTask<(bool Indexed, string[] SignedOut)> AddLimitedAsync(string userId, string id, string? replacing, CancellationToken cancellationToken)
    {
        // Across slots the caller signs sessions out before the decision, so an attempt that must read again has already
        // signed some out: they are reported whatever the end.
        List<string>? signedOut = null;
        for (var attempt = 1; ; attempt++)
        {
            long code;
            if (_spansSlots)
            {
                code = await AttemptAcrossSlotsAsync(userId, id, replacing, signedOut ??= [], cancellationToken).ConfigureAwait(false);
            }
            else
            {
                var reply = await AttemptInOneScriptAsync(userId, id, replacing, cancellationToken).ConfigureAwait(false);
                if (reply is null)
                {
                    _spansSlots = true;
                    Log.UserLimitAcrossSlots(logger);
                    continue;
                }

                code = (long)reply[0];
                if (code == 1 && reply.Length > 1)
                {
                    (signedOut ??= []).AddRange(reply.Skip(1).Select(r => (string)r!));
                }
            }

            if (code is 0 or 1)
            {
                return (code == 1, signedOut?.ToArray() ?? []);
            }

            // The index changed between the read and the script (another sign-in): read it again; each retry means another made progress.
            if (attempt == RedisDefaults.LimitedBindAttempts)
            {
                throw new SessionStoreUnavailableException($"The user index kept changing during {attempt} attempts to bind a session under MaxSessionsPerUser.", null);
            }
        }
    }

    /// <summary><see cref="RedisScripts.IndexAddLimited"/>'s reply; <see langword="null"/> when the server refused it as cross-slot.</summary>
    private async ValueTask<RedisResult[]?> AttemptInOneScriptAsync(string userId, string id, string? replacing, CancellationToken cancellationToken)
    {
        var userKey = keys.User(userId);
        var members = await runner.CallAsync(db => db.SetMembersAsync(userKey), "bind", cancellationToken).ConfigureAwait(false);
        var scriptKeys = new RedisKey[2 + members.Length];
        scriptKeys[0] = userKey;
        scriptKeys[1] = keys.UserLeases(userId);
        var args = new RedisValue[9 + members.Length];
        args[0] = id;
        args[1] = (long)options.AbsoluteLifetime.TotalMilliseconds;
        args[2] = time.GetUtcNow().ToUnixTimeMilliseconds();
        args[3] = options.MaxSessionsPerUser;
        args[4] = options.SessionLimitPolicy == UserSessionLimitPolicy.RefuseNewSession ? 1 : 0;
        args[5] = userId;
        args[6] = (long)RedisDefaults.BindLease.TotalMilliseconds;
        args[7] = (long)options.AbsoluteLifetime.TotalMilliseconds;
        args[8] = replacing ?? string.Empty;
        for (var i = 0; i < members.Length; i++)
        {
            scriptKeys[2 + i] = keys.Session(members[i]!);
            args[9 + i] = members[i];
        }

        var reply = await runner.CallAsync(db => EvaluateLimitedAsync(db, scriptKeys, args), "bind", cancellationToken).ConfigureAwait(false);
        return reply is null ? null : (RedisResult[])reply!;
    }

    private async Task<RedisResult?> EvaluateLimitedAsync(IDatabase db, RedisKey[] scriptKeys, RedisValue[] args)
    {
        try
        {
            return await RedisScripts.IndexAddLimited.EvaluateAsync(db, scriptKeys, args, logger).ConfigureAwait(false);
        }
        catch (Exception e) when (IsCrossSlot(e))
        {
            // Not an outage, and nothing was applied: a cluster refuses a script over several slots before running it.
            return null;
        }
    }

    private static bool IsCrossSlot(Exception? e)
        => e is RedisException or RedisCommandException
            && (e.Message.Contains("CROSSSLOT", StringComparison.Ordinal) || e.Message.Contains("single slot", StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// One attempt of the limit where the sessions live in other slots than the index (Redis Cluster). Three round trips,
    /// four when sessions are signed out: read the index and its leases (one slot); read every indexed session (their own
    /// slots, sent together) and seal the keyless ones past their lease; sign out the least recently active if the policy
    /// makes room; then <see cref="RedisScripts.IndexAddCounted"/> decides in the user's slot. Returns its code.
    /// </summary>
    private async ValueTask<long> AttemptAcrossSlotsAsync(string userId, string id, string? replacing, List<string> signedOut, CancellationToken cancellationToken)
    {
        var userKey = keys.User(userId);
        var leaseKey = keys.UserLeases(userId);
        var (members, leases) = await runner.CallAsync(
            async db =>
            {
                // One slot, one node: both go out in the same write.
                var m = db.SetMembersAsync(userKey);
                var l = db.HashGetAllAsync(leaseKey);
                return (await m.ConfigureAwait(false), await l.ConfigureAwait(false));
            },
            "bind",
            cancellationToken).ConfigureAwait(false);
        if (members.Contains(id))
        {
            return 1;
        }

        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var metas = await runner.CallAsync(
            db => Task.WhenAll(members.Select(m => SessionIds.IsWellFormed(m)
                ? db.HashGetAsync(keys.Session(m!), SessionMetaFields)
                : Task.FromResult(NoSessionMeta))),
            "bind",
            cancellationToken).ConfigureAwait(false);

        var classes = new char[members.Length];
        var live = new List<(int Index, long LastActive)>();
        var pending = 0;
        List<int>? unleased = null;
        for (var i = 0; i < members.Length; i++)
        {
            var meta = metas[i];
            if (!meta[0].IsNull)
            {
                var (a, x, idle) = ((long)meta[1], (long)meta[2], (long)meta[3]);
                var counts = now < x && now < a + idle && meta[4] == userId && members[i] != replacing;
                classes[i] = counts ? 'c' : 'k';
                if (counts)
                {
                    live.Add((i, a));
                }
            }
            else if (!meta[5].IsNull || !SessionIds.IsWellFormed(members[i]))
            {
                // A tombstone: sealed, or signed out by a sign-in whose decision has not dropped it yet.
                classes[i] = 'd';
            }
            else if (LeaseOf(leases, members[i]) > now)
            {
                classes[i] = 'p';
                pending++;
            }
            else
            {
                (unleased ??= []).Add(i);
            }
        }

        if (unleased is not null)
        {
            var ttl = (long)options.AbsoluteLifetime.TotalMilliseconds;
            var sealedNow = await runner.CallAsync(
                db => Task.WhenAll(unleased.Select(i => IsLiveOrSealAsync(db, members[i]!, ttl))),
                "bind",
                cancellationToken).ConfigureAwait(false);
            if (sealedNow.Any(isLive => isLive))
            {
                // A create landed between the two reads: its session must be judged like the others, so read again.
                return -9;
            }

            foreach (var i in unleased)
            {
                classes[i] = 'd';
            }
        }

        var over = live.Count + pending + 1 - options.MaxSessionsPerUser;
        if (over > 0 && options.SessionLimitPolicy == UserSessionLimitPolicy.SignOutLeastRecentlyActive && over <= live.Count)
        {
            var victims = live.OrderBy(v => v.LastActive).Take(over).Select(v => v.Index).ToArray();
            // One script per key: they live in different slots. Sent together.
            var ttl = (long)options.AbsoluteLifetime.TotalMilliseconds;
            await runner.CallAsync(
                db => Task.WhenAll(victims.Select(i => RedisScripts.SignOut.EvaluateAsync(db, keys.Session(members[i]!), [ttl], logger))),
                "bind",
                cancellationToken).ConfigureAwait(false);
            foreach (var i in victims)
            {
                classes[i] = 'd';
                signedOut.Add(members[i]!);
            }
        }

        var args = new RedisValue[6 + (2 * members.Length)];
        args[0] = id;
        args[1] = (long)options.AbsoluteLifetime.TotalMilliseconds;
        args[2] = now;
        args[3] = options.MaxSessionsPerUser;
        args[4] = (long)RedisDefaults.BindLease.TotalMilliseconds;
        args[5] = members.Length;
        for (var i = 0; i < members.Length; i++)
        {
            args[6 + i] = members[i];
            args[6 + members.Length + i] = classes[i].ToString();
        }

        return (long)(await runner.CallAsync(db => RedisScripts.IndexAddCounted.EvaluateAsync(db, [userKey, leaseKey], args, logger), "bind", cancellationToken).ConfigureAwait(false));
    }

    private static readonly RedisValue[] SessionMetaFields = ["m:v", "m:a", "m:x", "m:i", "m:u", "m:t"];

    private static readonly RedisValue[] NoSessionMeta = [RedisValue.Null, RedisValue.Null, RedisValue.Null, RedisValue.Null, RedisValue.Null, RedisValue.Null];

    private static long LeaseOf(HashEntry[] leases, RedisValue id)
    {
        foreach (var lease in leases)
        {
            if (lease.Name == id)
            {
                return (long)lease.Value;
            }
        }

        return 0;
    }

    /// <summary>Adds a session to its user's index, and prunes ids whose session is gone (of a bounded random sample).</summary>
    private async ValueTask AddAsync(string userId, string id, CancellationToken cancellationToken)
    {
        var userKey = keys.User(userId);
        var ttl = (long)options.AbsoluteLifetime.TotalMilliseconds;
        RedisKey[] scriptKeys = [userKey, keys.UserLeases(userId)];
        RedisValue[] args = [id, ttl, RedisDefaults.IndexPruneSample, time.GetUtcNow().ToUnixTimeMilliseconds(), (long)RedisDefaults.BindLease.TotalMilliseconds];
        var others = (RedisValue[])(await runner.CallAsync(db => RedisScripts.IndexAdd.EvaluateAsync(db, scriptKeys, args, logger), "bind", cancellationToken).ConfigureAwait(false))!;
        if (others.Length == 0)
        {
            return;
        }

        // Sent together, one round trip, as the EXISTS checks they replace.
        var exists = await runner.CallAsync(
            db => Task.WhenAll(others.Select(m => SessionIds.IsWellFormed(m) ? IsLiveOrSealAsync(db, m!, ttl) : Task.FromResult(false))),
            "bind",
            cancellationToken).ConfigureAwait(false);
        var dead = others.Where((_, i) => !exists[i]).ToArray();
        if (dead.Length > 0)
        {
            await RemoveAsync(userId, dead, "bind", cancellationToken).ConfigureAwait(false);
            Log.UserIndexPruned(logger, dead.Length);
        }
    }

    /// <summary>True when the id has a session; else seals it with a tombstone, so that dropping it from the index is safe.</summary>
    private async Task<bool> IsLiveOrSealAsync(IDatabase db, string id, long ttl)
        => (long)await RedisScripts.Seal.EvaluateAsync(db, keys.Session(id), [ttl], logger).ConfigureAwait(false) == 1;

    public async ValueTask RemoveAsync(string userId, string id, CancellationToken cancellationToken)
        => await RemoveAsync(userId, [id], "unbind", cancellationToken).ConfigureAwait(false);

    /// <summary>Reads the user's index (for revoking every session in it).</summary>
    public Task<RedisValue[]> MembersAsync(string userId, CancellationToken cancellationToken)
    {
        var userKey = keys.User(userId);
        return runner.CallAsync(db => db.SetMembersAsync(userKey), "revoke", cancellationToken);
    }

    /// <summary>One <c>SSCAN</c> batch of the user's index: the next cursor (0 when done) and the ids.</summary>
    public async Task<(long Next, RedisValue[] Members)> ScanAsync(string userId, long cursor, int count, CancellationToken cancellationToken)
    {
        var userKey = keys.User(userId);
        var reply = await runner.CallAsync(db => db.ExecuteAsync("SSCAN", userKey, cursor, "COUNT", count), "list", cancellationToken).ConfigureAwait(false);
        var parts = (RedisResult[])reply!;
        return ((long)parts[0], (RedisValue[])parts[1]!);
    }

    /// <summary>The first id in the user's index that <paramref name="match"/> accepts, scanning in batches; <see langword="null"/> when none does.</summary>
    public Task<string?> FindAsync(string userId, Func<string?, bool> match, CancellationToken cancellationToken)
    {
        var userKey = keys.User(userId);
        return runner.CallAsync(
            async db =>
            {
                await foreach (var member in db.SetScanAsync(userKey, pageSize: UserSessionPage.MaxPageSize).WithCancellation(cancellationToken).ConfigureAwait(false))
                {
                    if (match(member))
                    {
                        return (string?)member;
                    }
                }

                return null;
            },
            "revoke",
            cancellationToken);
    }

    /// <summary>Removes exactly the ids given (those revoked or sealed): a session bound meanwhile stays in the index.</summary>
    public ValueTask RemoveAsync(string userId, RedisValue[] members, CancellationToken cancellationToken)
        => RemoveAsync(userId, members, "revoke", cancellationToken);

    // The ids' leases go with them (one slot, sent together), so the lease hash holds no more than the index.
    private async ValueTask RemoveAsync(string userId, RedisValue[] members, string operation, CancellationToken cancellationToken)
    {
        var userKey = keys.User(userId);
        var leaseKey = keys.UserLeases(userId);
        await runner.CallAsync(
            db => Task.WhenAll(db.SetRemoveAsync(userKey, members), db.HashDeleteAsync(leaseKey, members)),
            operation,
            cancellationToken).ConfigureAwait(false);
    }
}
