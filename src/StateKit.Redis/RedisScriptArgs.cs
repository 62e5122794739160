using System;
using StackExchange.Redis;

namespace StateKit.Redis;

/// <summary>The <c>ARGV</c> of each script, in the order <see cref="RedisScripts"/> documents.</summary>
internal static class RedisScriptArgs
{
    /// <summary><see cref="RedisScripts.Create"/>: now, idle ms, absolute expiry, user or '', payload bytes, n, then n key/value pairs, then sign-in metadata or ''.</summary>
    public static RedisValue[] Create(SessionCommit commit, DateTimeOffset now, TimeSpan idleTimeout, DateTimeOffset absolute, long size)
    {
        var args = new RedisValue[7 + (2 * commit.Upserts.Count)];
        args[0] = now.ToUnixTimeMilliseconds();
        args[1] = (long)idleTimeout.TotalMilliseconds;
        args[2] = absolute.ToUnixTimeMilliseconds();
        args[3] = commit.BindUserId ?? string.Empty;
        args[4] = size;
        args[5] = commit.Upserts.Count;
        var i = 6;
        foreach (var (key, value) in commit.Upserts)
        {
            args[i++] = key;
            args[i++] = value;
        }

        args[i] = RedisSignInMetadata.Encode(commit);
        return args;
    }

    /// <summary>
    /// <see cref="RedisScripts.Commit"/>: now, base version (0 = blind), require base, per-key conflicts, clear, max payload
    /// bytes, user to bind or '', upsert count, removal count, upsert key/value pairs, removal keys, sign-in metadata or ''.
    /// </summary>
    public static RedisValue[] Commit(SessionCommit commit, long now, RedisSessionStoreOptions options)
    {
        var args = new RedisValue[10 + (2 * commit.Upserts.Count) + commit.Removals.Count];
        var requireBase = commit.Mode == SessionCommitMode.RequireBaseVersion && commit.Base is not null;
        args[0] = now;
        args[1] = commit.Base?.Version ?? 0;
        args[2] = requireBase ? 1 : 0;
        args[3] = options.KeyConflictPolicy == KeyConflictPolicy.Conflict ? 1 : 0;
        args[4] = commit.ClearExisting ? 1 : 0;
        args[5] = options.MaxPayloadBytes;
        args[6] = commit.BindUserId ?? string.Empty;
        args[7] = commit.Upserts.Count;
        args[8] = commit.Removals.Count;
        var i = 9;
        foreach (var (key, value) in commit.Upserts)
        {
            args[i++] = key;
            args[i++] = value;
        }

        foreach (var key in commit.Removals)
        {
            args[i++] = key;
        }

        args[i] = RedisSignInMetadata.Encode(commit);
        return args;
    }

    /// <summary>
    /// <see cref="RedisScripts.Import"/>: now, then the raw field/value pairs <see cref="RedisScripts.Export"/> returned.
    /// Also picks out the copied version (for <see cref="RedisScripts.Retire"/>) and the bound user.
    /// </summary>
    public static RedisValue[] Import(RedisResult[] exported, out RedisValue copiedVersion, out string? user)
    {
        var args = new RedisValue[1 + exported.Length];
        copiedVersion = RedisValue.Null;
        user = null;
        for (var i = 0; i + 1 < exported.Length; i += 2)
        {
            var name = (string?)exported[i];
            args[1 + i] = (RedisValue)exported[i];
            args[2 + i] = (RedisValue)exported[i + 1];
            if (name == RedisFields.Version)
            {
                copiedVersion = (RedisValue)exported[i + 1];
            }
            else if (name == RedisFields.User)
            {
                user = (string?)exported[i + 1];
            }
        }

        return args;
    }
}
