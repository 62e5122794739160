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
internal sealed class RedisUserIndex(RedisCommandRunner runner, RedisKeys keys, RedisSessionStoreOptions options, ILogger logger)
{
    /// <summary>Adds a session to its user's index, and prunes ids whose session is gone.</summary>
    public async ValueTask AddAsync(string userId, string id, CancellationToken cancellationToken)
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
