using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace StateKit.Redis;

/// <summary>
/// Each user's set of session ids, so that "sign out everywhere" can find them. An id is added before its session can be
/// live and removed after the session is gone; ids whose session expired are pruned whenever the set grows.
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
    /// <summary>
    /// Adds a session to its user's index, and prunes ids whose session is gone. Under <see cref="RedisSessionStoreOptions.MaxSessionsPerUser"/>,
    /// <see langword="null"/> when the limit refuses it, else the ids signed out to make room (empty without a limit).
    /// </summary>
    /// <param name="userId">The user.</param>
    /// <param name="id">The session id to index.</param>
    /// <param name="replacing">The id <paramref name="id"/> replaces (a rotation), which the limit does not count; or <see langword="null"/>.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    public async ValueTask<string[]?> AddAsync(string userId, string id, string? replacing, CancellationToken cancellationToken)
    {
        if (options.MaxSessionsPerUser > 0)
        {
            return await AddLimitedAsync(userId, id, replacing, cancellationToken).ConfigureAwait(false);
        }

        await AddAsync(userId, id, cancellationToken).ConfigureAwait(false);
        return [];
    }

    private async ValueTask<string[]?> AddLimitedAsync(string userId, string id, string? replacing, CancellationToken cancellationToken)
    {
        var userKey = keys.User(userId);
        for (var attempt = 1; ; attempt++)
        {
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

            var reply = (RedisResult[])(await runner.CallAsync(db => EvaluateLimitedAsync(db, scriptKeys, args), "bind", cancellationToken).ConfigureAwait(false))!;
            var code = (long)reply[0];
            if (code == 1)
            {
                return reply.Skip(1).Select(r => (string)r!).ToArray();
            }

            if (code == 0)
            {
                return null;
            }

            // The index changed between the read and the script (another sign-in): read it again; each retry means another made progress.
            if (attempt == RedisDefaults.LimitedBindAttempts)
            {
                throw new SessionStoreUnavailableException($"The user index kept changing during {attempt} attempts to bind a session under MaxSessionsPerUser.", null);
            }
        }
    }

    private async Task<RedisResult> EvaluateLimitedAsync(IDatabase db, RedisKey[] scriptKeys, RedisValue[] args)
    {
        try
        {
            return await RedisScripts.IndexAddLimited.EvaluateAsync(db, scriptKeys, args, logger).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or RedisCommandException && (e.Message.Contains("CROSSSLOT", StringComparison.Ordinal) || e.Message.Contains("single slot", StringComparison.OrdinalIgnoreCase)))
        {
            // Not an outage, and no retry or breaker would help: the topology cannot run this script.
            throw new NotSupportedException(
                "MaxSessionsPerUser is enforced by one script over a user's index and sessions, which Redis Cluster refuses (they live in different slots). Set MaxSessionsPerUser to 0 on a cluster, or use a standalone or Sentinel deployment.",
                e);
        }
    }

    /// <summary>Adds a session to its user's index, and prunes ids whose session is gone.</summary>
    private async ValueTask AddAsync(string userId, string id, CancellationToken cancellationToken)
    {
        var userKey = keys.User(userId);
        var ttl = (long)options.AbsoluteLifetime.TotalMilliseconds;
        var members = (RedisValue[])(await runner.RunAsync(RedisScripts.IndexAdd, userKey, [id, ttl], "bind", cancellationToken).ConfigureAwait(false))!;
        if (members.Length <= 1)
        {
            return;
        }

        var others = members.Where(m => m != id).ToArray();
        // Sent together, one round trip, as the EXISTS checks they replace.
        var exists = await runner.CallAsync(
            db => Task.WhenAll(others.Select(m => SessionIds.IsWellFormed(m) ? IsLiveOrSealAsync(db, m!, ttl) : Task.FromResult(false))),
            "bind",
            cancellationToken).ConfigureAwait(false);
        var dead = others.Where((_, i) => !exists[i]).ToArray();
        if (dead.Length > 0)
        {
            await runner.CallAsync(db => db.SetRemoveAsync(userKey, dead), "bind", cancellationToken).ConfigureAwait(false);
            Log.UserIndexPruned(logger, dead.Length);
        }
    }

    /// <summary>True when the id has a session; else seals it with a tombstone, so that dropping it from the index is safe.</summary>
    private async Task<bool> IsLiveOrSealAsync(IDatabase db, string id, long ttl)
        => (long)await RedisScripts.Seal.EvaluateAsync(db, keys.Session(id), [ttl], logger).ConfigureAwait(false) == 1;

    public async ValueTask RemoveAsync(string userId, string id, CancellationToken cancellationToken)
        => await runner.CallAsync(db => db.SetRemoveAsync(keys.User(userId), id), "unbind", cancellationToken).ConfigureAwait(false);

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
    public async ValueTask RemoveAsync(string userId, RedisValue[] members, CancellationToken cancellationToken)
    {
        var userKey = keys.User(userId);
        await runner.CallAsync(db => db.SetRemoveAsync(userKey, members), "revoke", cancellationToken).ConfigureAwait(false);
    }
}
