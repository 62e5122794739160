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
        var exists = await runner.CallAsync(
            db => Task.WhenAll(others.Select(m => SessionIds.IsWellFormed(m) ? db.KeyExistsAsync(keys.Session(m!)) : Task.FromResult(false))),
            "bind",
            cancellationToken).ConfigureAwait(false);
        var dead = others.Where((_, i) => !exists[i]).ToArray();
        if (dead.Length > 0)
        {
            await runner.CallAsync(db => db.SetRemoveAsync(userKey, dead), "bind", cancellationToken).ConfigureAwait(false);
            Log.UserIndexPruned(logger, dead.Length);
        }
    }

    public async ValueTask RemoveAsync(string userId, string id, CancellationToken cancellationToken)
        => await runner.CallAsync(db => db.SetRemoveAsync(keys.User(userId), id), "unbind", cancellationToken).ConfigureAwait(false);

    /// <summary>Reads the user's index (for revoking every session in it).</summary>
    public Task<RedisValue[]> MembersAsync(string userId, CancellationToken cancellationToken)
    {
        var userKey = keys.User(userId);
        return runner.CallAsync(db => db.SetMembersAsync(userKey), "revoke", cancellationToken);
    }

    /// <summary>Removes exactly the ids read before: a session bound meanwhile stays in the index.</summary>
    public async ValueTask RemoveAsync(string userId, RedisValue[] members, CancellationToken cancellationToken)
    {
        var userKey = keys.User(userId);
        await runner.CallAsync(db => db.SetRemoveAsync(userKey, members), "revoke", cancellationToken).ConfigureAwait(false);
    }
}
