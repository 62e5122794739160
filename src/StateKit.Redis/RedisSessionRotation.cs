using System;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace StateKit.Redis;

/// <summary>
/// Moves a session to a new id. On Cluster the new key lives in another slot, so this cannot be one atomic step; it is
/// ordered so that a crash at any point loses nothing and never leaves two live ids (reasoning in docs/redis.md):
/// copy the old hash; write the copy under the new id; apply this commit's delta to the new id only; add the new id to
/// the user index; delete the old id only if nobody wrote it since the copy (else start over); tell the client.
/// </summary>
internal sealed class RedisSessionRotation(
    RedisSessionStore store, RedisCommandRunner runner, RedisKeys keys, RedisUserIndex userIndex, RedisSessionStoreOptions options, TimeProvider time, ILogger logger)
{
    private static readonly Func<RedisResult, bool> RetireWrote = static r => (RedisRetireCode)(long)r == RedisRetireCode.Retired;

    public async ValueTask<SessionCommitResult> RotateAsync(SessionCommit commit, CancellationToken cancellationToken)
    {
        var oldId = commit.Ticket!;
        var oldKey = keys.Session(oldId);
        string[]? signedOut = null;
        for (var attempt = 1; attempt <= RedisDefaults.RotationAttempts; attempt++)
        {
            var exported = await runner.RunAsync(RedisScripts.Export, oldKey, [Now()], "rotate", cancellationToken).ConfigureAwait(false);
            if (exported.IsNull)
            {
                return SessionCommitResult.NotFound;
            }

            var args = RedisScriptArgs.Import((RedisResult[])exported!, out var copiedVersion, out var oldUser);
            var newId = SessionIds.NewId();
            var newKey = keys.Session(newId);
            var user = commit.BindUserId ?? oldUser;
            if (!string.IsNullOrEmpty(user))
            {
                // Before the new id can be live, so that "sign out everywhere" can always find it. The old id is not counted
                // against the limit: the new one replaces it.
                if (await store.IndexForBindAsync(user, newId, oldId, cancellationToken).ConfigureAwait(false) is not { } gone)
                {
                    return SessionCommitResult.SessionLimitReached;
                }

                signedOut = gone.Length == 0 ? signedOut : [.. signedOut ?? [], .. gone];
            }

            args[0] = Now();
            var imported = (RedisWriteOnceCode)(long)await runner.RunAsync(RedisScripts.Import, newKey, args, "rotate", cancellationToken).ConfigureAwait(false);
            if (imported != RedisWriteOnceCode.Written)
            {
                continue;
            }

            // The WAIT sent with this commit also covers the import before it: same key, same node, same connection.
            var reply = new RedisCommitReply(await runner.RunWriteAsync(
                RedisScripts.Commit, newKey, RedisScriptArgs.Commit(commit, Now(), options), "rotate", RedisCommitReply.WroteAnything, cancellationToken).ConfigureAwait(false));
            if (reply.Code is RedisCommitCode.NotFound or RedisCommitCode.Conflict or RedisCommitCode.TooLarge or RedisCommitCode.Deleted)
            {
                // The delta did not apply to the copy (or emptied it): the copy must not outlive this call.
                await runner.CallAsync(db => db.KeyDeleteAsync(newKey), "rotate", cancellationToken).ConfigureAwait(false);
                if (reply.Code == RedisCommitCode.Deleted)
                {
                    await store.RevokeCoreAsync(oldId, cancellationToken).ConfigureAwait(false);
                    return SessionCommitResult.Deleted;
                }

                return await store.InterpretCommitAsync(reply, commit, newId, newId, cancellationToken).ConfigureAwait(false);
            }

            var retired = (RedisRetireCode)(long)await runner.RunWriteAsync(RedisScripts.Retire, oldKey, [copiedVersion], "rotate", RetireWrote, cancellationToken).ConfigureAwait(false);
            if (retired == RedisRetireCode.Retired)
            {
                if (!string.IsNullOrEmpty(oldUser))
                {
                    await userIndex.RemoveAsync(oldUser, oldId, cancellationToken).ConfigureAwait(false);
                }

                var rotated = await store.InterpretCommitAsync(reply, commit, newId, newId, cancellationToken).ConfigureAwait(false);
                return signedOut is { Length: > 0 } ? rotated with { SignedOutSessionIds = signedOut } : rotated;
            }

            await runner.CallAsync(db => db.KeyDeleteAsync(newKey), "rotate", cancellationToken).ConfigureAwait(false);
            if (retired == RedisRetireCode.Gone)
            {
                // Revoked or expired while we copied it: the copy is gone too, as the old id is.
                return SessionCommitResult.NotFound;
            }

            Log.RotationRetried(logger, attempt + 1);
        }

        return SessionCommitResult.Conflict;
    }

    private long Now() => time.GetUtcNow().ToUnixTimeMilliseconds();
}
