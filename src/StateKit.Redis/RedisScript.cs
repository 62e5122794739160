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
        HashHex = Convert.ToHexStringLower(Hash);
#pragma warning restore CA5350
    }

    public string Name { get; }

    public string Text { get; }

    public byte[] Hash { get; }

    /// <summary>Gets <see cref="Hash"/> as <c>EVALSHA</c> takes it from a plain command.</summary>
    public string HashHex { get; }

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
    /// Runs the script on <paramref name="server"/>, then <c>WAIT</c> on that same node, sent back to back without awaiting
    /// the script: both travel in one write and both replies in one read, so the pair is one network round trip. <c>WAIT</c>
    /// covers every write sent before it on that connection, the script's included. After a <c>NOSCRIPT</c> the pair is sent
    /// again with <c>EVAL</c>.
    /// </summary>
    /// <remarks>
    /// The script is addressed to the node, not routed by its key, and never follows a redirect
    /// (<see cref="CommandFlags.NoRedirect"/>): a write the client routes itself can land on another node than the one
    /// asked to <c>WAIT</c> (a slot map a reshard or failover made stale, where the client follows <c>MOVED</c>; a dead
    /// slot owner, where it picks any primary), and that node's replicas would then confirm a write they never saw. A node
    /// that does not own the key answers <c>MOVED</c> and writes nothing (<see cref="IsMoved"/>).
    /// </remarks>
    /// <returns>The script's reply and how many replicas acknowledged within <paramref name="timeoutMilliseconds"/>.</returns>
    public async Task<(RedisResult Result, long Acknowledged)> EvaluateAndWaitAsync(
        IServer server, RedisKey key, RedisValue[] args, int replicas, long timeoutMilliseconds, ILogger logger)
    {
        var evaluation = server.ExecuteAsync("EVALSHA", Call(HashHex, key, args), CommandFlags.NoRedirect);
        var wait = server.ExecuteAsync("WAIT", [replicas, timeoutMilliseconds], CommandFlags.NoRedirect);
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
            evaluation = server.ExecuteAsync("EVAL", Call(Text, key, args), CommandFlags.NoRedirect);
            wait = server.ExecuteAsync("WAIT", [replicas, timeoutMilliseconds], CommandFlags.NoRedirect);
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

    /// <summary>Gets whether <paramref name="error"/> is a node's <c>MOVED</c>, which a command sent with <see cref="CommandFlags.NoRedirect"/> surfaces: the node wrote nothing, and the client has learned the slot's owner from it.</summary>
    public static bool IsMoved(RedisServerException error) => error.Message.Contains("MOVED", StringComparison.Ordinal);

    /// <summary>The arguments of <c>EVAL</c> or <c>EVALSHA</c> over one key, for a command addressed to a node.</summary>
    private static object[] Call(string script, RedisKey key, RedisValue[] args)
    {
        var call = new object[args.Length + 3];
        call[0] = script;
        call[1] = 1;
        call[2] = key;
        for (var i = 0; i < args.Length; i++)
        {
            call[i + 3] = args[i];
        }

        return call;
    }

    /// <summary>Observes a task whose outcome nobody waits for any more, so that its failure is not reported as unobserved.</summary>
    internal static void Forget(Task task) => task.ContinueWith(
        static t => _ = t.Exception,
        CancellationToken.None,
        TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
        TaskScheduler.Default);
}
