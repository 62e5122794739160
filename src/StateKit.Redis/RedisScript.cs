using System;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace StateKit.Redis;

/// <summary>
/// One Lua script, sent as <c>EVALSHA</c>. A server that does not know it (first use, restart, failover,
/// <c>SCRIPT FLUSH</c>) answers <c>NOSCRIPT</c>; the script is then sent once in full with <c>EVAL</c>, which loads it.
/// </summary>
internal sealed class RedisScript
{
    public RedisScript(string name, string text)
    {
        Name = name;
        Text = text;
#pragma warning disable CA5350 // SHA1 is what Redis names scripts by; it is an identifier here, not a security control.
        Hash = SHA1.HashData(Encoding.UTF8.GetBytes(text));
#pragma warning restore CA5350
    }

    public string Name { get; }

    public string Text { get; }

    public byte[] Hash { get; }

    /// <summary>Runs the script on the node owning <paramref name="key"/>: one round trip, two after a <c>NOSCRIPT</c>.</summary>
    public async Task<RedisResult> EvaluateAsync(IDatabaseAsync database, RedisKey key, RedisValue[] args, ILogger logger)
    {
        RedisKey[] keys = [key];
        try
        {
            return await database.ScriptEvaluateAsync(Hash, keys, args).ConfigureAwait(false);
        }
        catch (RedisServerException e) when (e.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
        {
            Log.ScriptReloaded(logger, Name);
            return await database.ScriptEvaluateAsync(Text, keys, args).ConfigureAwait(false);
        }
    }
}
