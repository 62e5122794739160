using System;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
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
    public Task<RedisResult> EvaluateAsync(IDatabaseAsync database, RedisKey key, RedisValue[] args, ILogger logger)
        => EvaluateAsync(database, [key], args, logger);

    /// <summary>Runs the script over several keys, which must all live on one node: one round trip, two after a <c>NOSCRIPT</c>.</summary>
    public async Task<RedisResult> EvaluateAsync(IDatabaseAsync database, RedisKey[] keys, RedisValue[] args, ILogger logger)
    {
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

    /// <summary>
    /// Runs the script, then <c>HGETALL</c> of the same key, in one batch: both travel in one write and both replies come
    /// back in one read, so the pair is one network round trip, and the hash is read after the script has run. After a
    /// <c>NOSCRIPT</c> the pair is sent again with <c>EVAL</c> (the first <c>HGETALL</c> only read).
    /// </summary>
    public async Task<(RedisResult Result, HashEntry[] Hash)> EvaluateThenGetAllAsync(IDatabase database, RedisKey key, RedisValue[] args, ILogger logger)
    {
        RedisKey[] keys = [key];
        var batch = database.CreateBatch();
        var evaluation = batch.ScriptEvaluateAsync(Hash, keys, args);
        var read = batch.HashGetAllAsync(key);
        batch.Execute();
        try
        {
            return (await evaluation.ConfigureAwait(false), await read.ConfigureAwait(false));
        }
        catch (RedisServerException e) when (e.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
        {
            Forget(read);
            Log.ScriptReloaded(logger, Name);
            batch = database.CreateBatch();
            evaluation = batch.ScriptEvaluateAsync(Text, keys, args);
            read = batch.HashGetAllAsync(key);
            batch.Execute();
            try
            {
                return (await evaluation.ConfigureAwait(false), await read.ConfigureAwait(false));
            }
            catch
            {
                Forget(read);
                throw;
            }
        }
        catch
        {
            Forget(read);
            throw;
        }
    }

    /// <summary>
    /// Runs the script, then <c>WAIT</c> on the same node, sent back to back without awaiting the script: both travel in
    /// one write and both replies in one read, so the pair is one network round trip. <c>WAIT</c> covers every write sent
    /// before it on that connection, the script's included. After a <c>NOSCRIPT</c> the pair is sent again with <c>EVAL</c>.
    /// </summary>
    /// <returns>The script's reply and how many replicas acknowledged within <paramref name="timeoutMilliseconds"/>.</returns>
    public async Task<(RedisResult Result, long Acknowledged)> EvaluateAndWaitAsync(
        IDatabaseAsync database, IServer server, RedisKey key, RedisValue[] args, int replicas, long timeoutMilliseconds, ILogger logger)
    {
        RedisKey[] keys = [key];
        var evaluation = database.ScriptEvaluateAsync(Hash, keys, args);
        var wait = server.ExecuteAsync("WAIT", replicas, timeoutMilliseconds);
        RedisResult result;
        try
        {
            result = await evaluation.ConfigureAwait(false);
        }
        catch (RedisServerException e) when (e.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
        {
            // That WAIT covered nothing of ours; its answer is not worth waiting for.
            Forget(wait);
            Log.ScriptReloaded(logger, Name);
            evaluation = database.ScriptEvaluateAsync(Text, keys, args);
            wait = server.ExecuteAsync("WAIT", replicas, timeoutMilliseconds);
            try
            {
                result = await evaluation.ConfigureAwait(false);
            }
            catch
            {
                Forget(wait);
                throw;
            }
        }
        catch
        {
            Forget(wait);
            throw;
        }

        return (result, (long)await wait.ConfigureAwait(false));
    }

    /// <summary>Observes a task whose outcome nobody waits for any more, so that its failure is not reported as unobserved.</summary>
    internal static void Forget(Task task) => task.ContinueWith(
        static t => _ = t.Exception,
        CancellationToken.None,
        TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
        TaskScheduler.Default);
}
