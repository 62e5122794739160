using System;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace StateKit.Redis;

/// <summary>
/// Sends the store's scripts and commands, waits for replicas where <see cref="RedisSessionStoreOptions.RequireReplicaAcks"/>
/// asks for it, and maps what Redis throws to <see cref="SessionStoreUnavailableException"/>.
/// </summary>
/// <remarks>
/// StackExchange.Redis takes no <see cref="CancellationToken"/>: the token is checked before each call. A command already
/// sent is not abandoned, because its outcome would then be unknown.
/// </remarks>
internal sealed partial class RedisCommandRunner(RedisConnection connection, RedisSessionStoreOptions options, ILogger logger)
{
    private bool _waitSupported;

    public async Task<RedisResult> RunAsync(RedisScript script, RedisKey key, RedisValue[] args, string operation, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            var redis = await connection.GetAsync().ConfigureAwait(false);
            return await script.EvaluateAsync(redis.GetDatabase(), key, args, logger).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            throw Unavailable(operation, e);
        }
    }

    /// <summary>
    /// Runs a script that may write and, when <see cref="RedisSessionStoreOptions.RequireReplicaAcks"/> is set, waits for
    /// the replicas in the same round trip. <paramref name="wrote"/> tells from the reply whether anything was written:
    /// a missing acknowledgement fails only a write, never a refused commit.
    /// </summary>
    public async Task<RedisResult> RunWriteAsync(RedisScript script, RedisKey key, RedisValue[] args, string operation, Func<RedisResult, bool> wrote, CancellationToken cancellationToken)
    {
        var required = options.RequireReplicaAcks;
        if (required == 0)
        {
            return await RunAsync(script, key, args, operation, cancellationToken).ConfigureAwait(false);
        }

        cancellationToken.ThrowIfCancellationRequested();
        RedisResult result;
        long acknowledged;
        try
        {
            var redis = await connection.GetAsync().ConfigureAwait(false);
            var server = redis.GetServer(key, flags: CommandFlags.DemandMaster);
            if (!Volatile.Read(ref _waitSupported))
            {
                await EnsureWaitSupportedAsync(server).ConfigureAwait(false);
            }

            var timeout = (long)options.ReplicaAckTimeout.TotalMilliseconds;
            try
            {
                (result, acknowledged) = await script.EvaluateAndWaitAsync(server, key, args, required, timeout, logger).ConfigureAwait(false);
            }
            catch (RedisServerException e) when (RedisScript.IsMoved(e))
            {
                // The slot moved (a reshard, a failover) and nothing was written. The MOVED taught the client the new
                // owner: the pair goes there once. Asked again the same node, the map has not caught up: fail, typed.
                var owner = redis.GetServer(key, flags: CommandFlags.DemandMaster);
                if (Equals(owner.EndPoint, server.EndPoint))
                {
                    throw;
                }

                (result, acknowledged) = await script.EvaluateAndWaitAsync(owner, key, args, required, timeout, logger).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is RedisException or TimeoutException or InvalidOperationException)
        {
            // InvalidOperationException: GetServer throws it, rather than fail a task, when no node owns the key (a
            // failover).
            throw Unavailable(operation, e);
        }

        if (acknowledged < required && wrote(result))
        {
            var endpoints = connection.Endpoints;
            Log.ReplicaAcksMissing(logger, operation, endpoints, acknowledged, required, options.ReplicaAckTimeout);
            throw new ReplicaAcknowledgementException(
                $"Redis at {endpoints} applied the {operation}, but only {acknowledged} of {required} required replicas acknowledged it within "
                + $"{options.ReplicaAckTimeout.TotalMilliseconds} ms (RedisSessionStoreOptions.RequireReplicaAcks). The write is not undone: it may "
                + "still replicate, or be lost if the primary fails now, so it is not reported as saved. Check the replicas (INFO replication).",
                required,
                (int)acknowledged);
        }

        return result;
    }

    /// <summary>Runs one plain command (user index, key deletion).</summary>
    public async Task<T> CallAsync<T>(Func<IDatabase, Task<T>> call, string operation, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            var redis = await connection.GetAsync().ConfigureAwait(false);
            return await call(redis.GetDatabase()).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            throw Unavailable(operation, e);
        }
    }

    /// <summary>Asks the server once, before the first write, whether it knows WAIT: without it nothing could ever be confirmed.</summary>
    private async Task EnsureWaitSupportedAsync(IServer server)
    {
        try
        {
            // WAIT 0 returns at once with the number of replicas in sync: nothing to wait for, only the command to recognise.
            await server.ExecuteAsync("WAIT", 0, 1).ConfigureAwait(false);
        }
        catch (RedisServerException e) when (e.Message.Contains("unknown command", StringComparison.OrdinalIgnoreCase))
        {
            var endpoints = connection.Endpoints;
            Log.WaitNotSupported(logger, options.RequireReplicaAcks, endpoints, e);
            throw new NotSupportedException(
                $"RedisSessionStoreOptions.RequireReplicaAcks is {options.RequireReplicaAcks}, but the server at {endpoints} does not support WAIT "
                + $"({e.Message}); Garnet and some proxies do not. Nothing was written. Use redis-server (or a service with WAIT) with replicas, "
                + "or set RequireReplicaAcks to 0.",
                e);
        }

        Volatile.Write(ref _waitSupported, true);
    }

    /// <summary>What the store throws when Redis fails: the operation, the endpoints, and that nothing is known to be written.</summary>
    public SessionStoreUnavailableException Unavailable(string operation, Exception e)
    {
        var endpoints = connection.Endpoints;
        var scrubbed = Scrub(e);
        Log.Unavailable(logger, endpoints, operation, scrubbed);
        return new SessionStoreUnavailableException(
            $"Redis at {endpoints} failed during {operation}; nothing of this operation is known to have been written. {scrubbed.Message}",
            scrubbed);
    }

    /// <summary>
    /// StackExchange.Redis names a failed command's key in its text ("No connection is active/available to service this
    /// operation: HGETALL statekit:s:{id}") and in <see cref="Exception.Data"/>, and a session's key holds its id, a bearer
    /// credential (a user index's key, a user id). What the store throws and logs is a copy of the failure, of the same
    /// type so that callers can still tell a timeout from a lost connection, with every key's hash tag replaced and no
    /// <see cref="Exception.Data"/>. The original stack trace is lost: it shows only StackExchange.Redis's internals.
    /// </summary>
    internal static Exception Scrub(Exception e)
    {
        var inner = e.InnerException is { } i ? Scrub(i) : null;
        var message = Scrub(e.Message);
        return e switch
        {
            RedisTimeoutException timeout => new RedisTimeoutException(timeout.Flags, message, timeout.Commandstatus),
            RedisConnectionException lost => new RedisConnectionException(lost.FailureType, lost.Flags, message, inner, lost.CommandStatus),
            RedisServerException server => new RedisServerException(server.Kind, server.Flags, message),
            RedisException => new RedisException(message, inner),
            TimeoutException => new TimeoutException(message, inner),

            // Socket errors and the like name no key; kept as they are, with their stack traces, unless their text differs.
            _ when ReferenceEquals(inner, e.InnerException) && string.Equals(message, e.Message, StringComparison.Ordinal) && e.Data.Count == 0 => e,
            _ => new RedisException($"{e.GetType().FullName}: {message}", inner),
        };
    }

    // Every key the store uses ends in a hash tag holding the session or user id (RedisKeys), whatever the prefix; some
    // StackExchange.Redis versions also write "key: <key>" or "next: <command> <key>".
    private static string Scrub(string text)
        => KeyDetail().Replace(HashTag().Replace(text, "{redacted}"), "$1 (redacted)");

    [GeneratedRegex(@"\{[^{}]*\}", RegexOptions.CultureInvariant)]
    private static partial Regex HashTag();

    [GeneratedRegex(@"\b(key:|next: [A-Z]+) [^,;]+", RegexOptions.CultureInvariant)]
    private static partial Regex KeyDetail();
}
