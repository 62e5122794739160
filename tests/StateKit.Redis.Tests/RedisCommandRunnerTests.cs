using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using StateKit.Redis.Tests.Servers;
using StateKit.Redis.Testing;
using StateKit.Testing;

namespace StateKit.Redis.Tests;

/// <summary>
/// Issue 13 item 8: StackExchange.Redis writes the key of a timed-out command into its exception text ("key: ..."), and
/// a session's key holds its id, the bearer credential. What the store throws and logs must not carry it.
/// </summary>
public sealed class RedisCommandRunnerTests
{
    [ReplicaFact]
    public async Task RedisStopsAnswering_ThrownExceptionAndLogs_CarryNoSessionKeyOrId()
    {
        await using var server = await TestServer.StartRedisAsync([]);
        var configuration = ConfigurationOptions.Parse($"{server.Endpoint},abortConnect=false,asyncTimeout=200,syncTimeout=200,connectTimeout=1000");

        // The detail that names keys ("next: HGETALL <key>"); apps turn it on to diagnose timeouts.
        configuration.IncludeDetailInExceptions = true;
        await using var redis = await ConnectionMultiplexer.ConnectAsync(configuration);
        var logs = new CapturingLogger();
        var prefix = RedisFixture.UniquePrefix("leak");
        var store = new RedisSessionStore(new RedisConnection(redis), new RedisSessionStoreOptions { KeyPrefix = prefix }, null, logs);
        var session = store.Open(null);
        session.Set("cart", 7, ContractJsonContext.Default.Int32);
        await session.CommitAsync();
        var id = session.BearerId!;

        var runner = new RedisCommandRunner(new RedisConnection(redis), new RedisSessionStoreOptions { KeyPrefix = prefix }, logs);
        string key = new RedisKeys(prefix).Session(id)!;

        Signal(server.ProcessId!.Value, "STOP");
        var errors = new List<SessionStoreUnavailableException>();
        try
        {
            // A script (the store's load) and a plain command on the session's key, which StackExchange.Redis names in its text.
            errors.Add(await Assert.ThrowsAsync<SessionStoreUnavailableException>(async () => await store.LoadAsync(id)));
            errors.Add(await Assert.ThrowsAsync<SessionStoreUnavailableException>(() => runner.CallAsync(db => db.HashGetAllAsync(key), "load", default)));
            errors.Add(await Assert.ThrowsAsync<SessionStoreUnavailableException>(() => runner.CallAsync(db => db.KeyDeleteAsync(key), "revoke", default)));
        }
        finally
        {
            Signal(server.ProcessId!.Value, "CONT");
        }

        AssertNoSecret(errors, logs, id, key);

        // Still says what happened, for whoever reads the log: a timeout, or (once StackExchange.Redis gave up on the
        // connection, which a loaded machine reaches sooner) no connection; either way of the type StackExchange.Redis threw.
        Assert.All(errors, e => Assert.True(e.InnerException is RedisTimeoutException or RedisConnectionException, e.Message));
    }

    [ReplicaFact]
    public async Task RedisUnreachable_ThrownExceptionAndLogs_CarryNoSessionKeyOrId()
    {
        // A port nothing listens on: StackExchange.Redis fails each command with "No connection is active/available to
        // service this operation: HGETALL <key>".
        var configuration = ConfigurationOptions.Parse($"127.0.0.1:{TestServer.FreePort()},abortConnect=false,asyncTimeout=200,syncTimeout=200,connectTimeout=200,connectRetry=0");
        configuration.BacklogPolicy = BacklogPolicy.FailFast;
        await using var redis = await ConnectionMultiplexer.ConnectAsync(configuration);
        var logs = new CapturingLogger();
        var prefix = RedisFixture.UniquePrefix("leak");
        var options = new RedisSessionStoreOptions { KeyPrefix = prefix };
        var store = new RedisSessionStore(new RedisConnection(redis), options, null, logs);
        var runner = new RedisCommandRunner(new RedisConnection(redis), options, logs);
        var id = SessionIds.NewId();
        string key = new RedisKeys(prefix).Session(id)!;

        var errors = new List<SessionStoreUnavailableException>
        {
            await Assert.ThrowsAsync<SessionStoreUnavailableException>(async () => await store.LoadAsync(id)),
            await Assert.ThrowsAsync<SessionStoreUnavailableException>(async () => await store.RevokeAsync(id)),
            await Assert.ThrowsAsync<SessionStoreUnavailableException>(() => runner.CallAsync(db => db.HashGetAllAsync(key), "load", default)),
            await Assert.ThrowsAsync<SessionStoreUnavailableException>(() => runner.CallAsync(db => db.KeyDeleteAsync(key), "revoke", default)),
        };

        AssertNoSecret(errors, logs, id, key);

        // The operation and the command still show, so the log says what failed.
        Assert.Contains("HGETALL", errors[2].Message, StringComparison.Ordinal);
        Assert.IsType<RedisConnectionException>(errors[2].InnerException);
    }

    /// <summary>What an app's logger prints when it logs the exception (message, inner exceptions, data), and what the store logged.</summary>
    private static void AssertNoSecret(List<SessionStoreUnavailableException> errors, CapturingLogger logs, string id, string key)
    {
        var texts = errors.SelectMany(e => new[] { e.Message, e.ToString() }).ToList();
        texts.AddRange(errors.SelectMany(e => Flatten(e)).SelectMany(e => e.Data.Values.Cast<object?>()).Select(v => v?.ToString() ?? string.Empty));
        texts.AddRange(logs.Lines);
        Assert.NotEmpty(logs.Lines);
        foreach (var text in texts)
        {
            Assert.DoesNotContain(id, text, StringComparison.Ordinal);
            Assert.DoesNotContain(key, text, StringComparison.Ordinal);
        }
    }

    private static IEnumerable<Exception> Flatten(Exception e)
    {
        for (Exception? current = e; current is not null; current = current.InnerException)
        {
            yield return current;
        }
    }

    private static void Signal(int pid, string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }

    private sealed class CapturingLogger : ILogger
    {
        private readonly ConcurrentQueue<string> _lines = new();

        public IReadOnlyList<string> Lines => _lines.ToList();

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => _lines.Enqueue($"{eventId} {formatter(state, exception)} {exception}");
    }
}
