using System;
using System.Diagnostics;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using StackExchange.Redis.Profiling;
using StateKit.Redis.Tests.Servers;
using StateKit.Redis.Testing;
using StateKit.Resilience;
using StateKit.Testing;
using Xunit.Abstractions;

namespace StateKit.Redis.Tests;

/// <summary>
/// <see cref="RedisSessionStoreOptions.RequireReplicaAcks"/> against a real primary and replica: acknowledged while the
/// replica is up, a typed failure within the timeout once its process is killed, and still one round trip per commit.
/// </summary>
public sealed class RedisReplicaAckTests(RedisReplicaFixture servers, ITestOutputHelper output) : IClassFixture<RedisReplicaFixture>
{
    private static readonly TimeSpan AckTimeout = TimeSpan.FromMilliseconds(300);

    [ReplicaFact]
    public async Task Commit_ReplicaUp_IsAcknowledgedAndOnTheReplicaWhenItReturns()
    {
        await servers.EnsureReplicaUpAsync();
        await using var redis = await ConnectAsync();
        var prefix = RedisFixture.UniquePrefix("ack");
        var store = CreateStore(redis, prefix);

        var session = store.Open(null);
        session.Set("n", 1, ContractJsonContext.Default.Int32);
        var created = await session.CommitAsync();
        session.Set("n", 2, ContractJsonContext.Default.Int32);
        var updated = await session.CommitAsync();

        Assert.Equal(SessionCommitOutcome.Committed, created.Outcome);
        Assert.Equal(SessionCommitOutcome.Committed, updated.Outcome);

        // Acknowledged means applied by the replica: read it there, with no wait.
        var onReplica = await servers.Admin.GetServer(servers.Replica.Endpoint)
            .ExecuteAsync("HGET", $"{prefix}s:{{{session.Ticket}}}", "d:n");
        Assert.Equal("2", (string?)onReplica);
    }

    [ReplicaFact]
    public async Task Commit_ReplicaKilled_FailsTypedWithinTheTimeoutAndIsNotUndone()
    {
        await servers.EnsureReplicaUpAsync();
        await using var redis = await ConnectAsync();
        var prefix = RedisFixture.UniquePrefix("ack-down");
        var store = CreateStore(redis, prefix);

        // The set-up write does not wait for the replica: right after the previous test's kill, its resync can outlast the
        // 300 ms ack timeout on a busy machine (seen once in CI), and this test is about the write after the kill.
        var setup = new RedisSessionStore(redis, new RedisSessionStoreOptions { KeyPrefix = prefix }).Open(null);
        setup.Set("n", 1, ContractJsonContext.Default.Int32);
        await setup.CommitAsync();
        var session = store.Open(setup.Ticket);
        await session.LoadAsync();

        await servers.Replica.KillAsync();
        session.Set("n", 2, ContractJsonContext.Default.Int32);
        var started = Stopwatch.GetTimestamp();
        var error = await Assert.ThrowsAsync<ReplicaAcknowledgementException>(async () => await session.CommitAsync());
        var elapsed = Stopwatch.GetElapsedTime(started);
        output.WriteLine($"replica killed: commit failed after {elapsed.TotalMilliseconds:F0} ms (ReplicaAckTimeout {AckTimeout.TotalMilliseconds} ms): {error.Message}");

        Assert.Equal(1, error.Required);
        Assert.Equal(0, error.Acknowledged);
        Assert.IsAssignableFrom<SessionStoreUnavailableException>(error);

        // WAIT really waited for the replica, and gave up at the timeout. The upper bound only rules out "hangs": CI shares
        // two cores with every other test process, so scheduling alone can add seconds.
        Assert.InRange(elapsed, AckTimeout - TimeSpan.FromMilliseconds(20), AckTimeout + TimeSpan.FromSeconds(10));

        // Honest about what failed: the primary applied the write; only its durability is unconfirmed.
        var reloaded = store.Open(session.Ticket);
        await reloaded.LoadAsync();
        Assert.Equal(2, reloaded.Get("n", ContractJsonContext.Default.Int32));

        // A new session is refused the same way, so no ticket is ever handed out for an unconfirmed write.
        var fresh = store.Open(null);
        fresh.Set("n", 1, ContractJsonContext.Default.Int32);
        await Assert.ThrowsAsync<ReplicaAcknowledgementException>(async () => await fresh.CommitAsync());
        Assert.Null(fresh.Ticket);
    }

    [ReplicaFact]
    public async Task Commit_ReplicaKilled_OpensTheCriticalTiersCircuit()
    {
        await servers.EnsureReplicaUpAsync();
        await using var redis = await ConnectAsync();
        var options = new ResilienceOptions { Name = "critical", Outage = OutagePolicy.FailFast, Timeout = TimeSpan.FromSeconds(2) };
        options.CircuitBreaker.MinimumThroughput = 2;
        options.CircuitBreaker.FailureRatio = 0.5;
        using var critical = new ResilientSessionStore(CreateStore(redis, RedisFixture.UniquePrefix("ack-breaker")), options);
        var session = critical.Open(null);
        session.Set("cart", 1, ContractJsonContext.Default.Int32);
        await session.CommitAsync();

        await servers.Replica.KillAsync();
        session.Set("cart", 2, ContractJsonContext.Default.Int32);
        await Assert.ThrowsAsync<ReplicaAcknowledgementException>(async () => await session.CommitAsync());

        // One success and one failure in the window: the ratio (0.5) and the throughput (2) are met.
        Assert.Equal(CircuitState.Open, critical.CircuitBreaker.State);
        var started = Stopwatch.GetTimestamp();
        var rejected = await Assert.ThrowsAsync<SessionStoreRejectedException>(async () => await session.CommitAsync());
        Assert.Equal(SessionStoreRejectionReason.CircuitOpen, rejected.Reason);
        Assert.True(Stopwatch.GetElapsedTime(started) < AckTimeout, "an open circuit fails fast, without waiting for replicas");
    }

    [ReplicaFact]
    public async Task Commit_WithAcks_IsTwoCommandsInOneRoundTrip()
    {
        await servers.EnsureReplicaUpAsync();
        await using var redis = await ConnectAsync();
        var store = CreateStore(redis, RedisFixture.UniquePrefix("ack-rt"));
        var session = store.Open(null);
        session.Set("n", 1, ContractJsonContext.Default.Int32);
        await session.CommitAsync();

        // A first change loads the commit script on this server, so the measured one is not a NOSCRIPT retry.
        session.Set("n", 2, ContractJsonContext.Default.Int32);
        await session.CommitAsync();
        session.Set("n", 3, ContractJsonContext.Default.Int32);

        ProfilingSession? profiling = new();
        redis.RegisterProfiler(() => profiling);

        // While the primary is paused nothing is answered: if the WAIT only left after the script's reply, it would be
        // sent at least the pause later. Sent before that reply, the pair shared one round trip.
        await servers.Admin.GetServer(servers.Primary.Endpoint).ExecuteAsync("CLIENT", "PAUSE", 300, "ALL");
        await session.CommitAsync();
        var commands = profiling.FinishProfiling().OrderBy(c => c.CommandCreated).ToArray();
        profiling = null;

        foreach (var c in commands)
        {
            output.WriteLine($"{c.Command}: sent after {(c.CreationToEnqueued + c.EnqueuedToSending).TotalMilliseconds:F3} ms, answered after {c.SentToResponse.TotalMilliseconds:F3} ms");
        }

        Assert.Equal(2, commands.Length);
        Assert.Equal("EVALSHA", commands[0].Command, ignoreCase: true);
        Assert.Contains("WAIT", commands[1].Command, StringComparison.OrdinalIgnoreCase);
        var scriptAnswered = Sent(commands[0]) + commands[0].SentToResponse;
        Assert.True(Sent(commands[1]) < scriptAnswered, "WAIT must be sent before the script's reply arrives (pipelined)");
        Assert.True(commands[0].SentToResponse >= TimeSpan.FromMilliseconds(200), "the pause must have held the script's reply");
    }

    [ReplicaFact]
    public async Task Commit_RefusedWithReplicaDown_IsNotAnAcknowledgementFailure()
    {
        await servers.EnsureReplicaUpAsync();
        await using var redis = await ConnectAsync();
        var store = CreateStore(redis, RedisFixture.UniquePrefix("ack-refused"));
        await servers.Replica.KillAsync();

        // Nothing was written, so there is nothing to confirm: the commit's own outcome stands.
        var result = await store.CommitAsync(new SessionCommit
        {
            Ticket = "AAAAAAAAAAAAAAAAAAAAAA",
            Upserts = new System.Collections.Generic.Dictionary<string, ReadOnlyMemory<byte>> { ["n"] = "1"u8.ToArray() },
        });

        Assert.Equal(SessionCommitOutcome.NotFound, result.Outcome);
    }

    private static DateTime Sent(IProfiledCommand command) => command.CommandCreated + command.CreationToEnqueued + command.EnqueuedToSending;

    private async Task<ConnectionMultiplexer> ConnectAsync()
        => await ConnectionMultiplexer.ConnectAsync(servers.PrimaryConfiguration);

    private static RedisSessionStore CreateStore(IConnectionMultiplexer redis, string prefix)
        => new(redis, new RedisSessionStoreOptions { KeyPrefix = prefix, RequireReplicaAcks = 1, ReplicaAckTimeout = AckTimeout });
}

/// <summary>What requiring replica acknowledgements does where it cannot work, and how its options are validated.</summary>
public sealed class RedisReplicaAckOptionsTests
{
    [Fact]
    public void Options_NegativeAcksAndZeroTimeout_ListEveryProblem()
    {
        var negative = new RedisSessionStoreOptions { RequireReplicaAcks = -1 };
        var noTimeout = new RedisSessionStoreOptions { RequireReplicaAcks = 1, ReplicaAckTimeout = TimeSpan.Zero };
        var subMillisecond = new RedisSessionStoreOptions { RequireReplicaAcks = 2, ReplicaAckTimeout = TimeSpan.FromTicks(5_000) };
        var unused = new RedisSessionStoreOptions { RequireReplicaAcks = 0, ReplicaAckTimeout = TimeSpan.Zero };

        Assert.Contains(negative.GetValidationErrors(), e => e.Contains("RequireReplicaAcks must be 0", StringComparison.Ordinal));
        Assert.Contains(noTimeout.GetValidationErrors(), e => e.Contains("ReplicaAckTimeout", StringComparison.Ordinal) && e.Contains("block", StringComparison.Ordinal));
        Assert.Contains(subMillisecond.GetValidationErrors(), e => e.Contains("ReplicaAckTimeout", StringComparison.Ordinal));
        Assert.Empty(unused.GetValidationErrors());
        Assert.Throws<OptionsValidationException>(() => new RedisSessionStore(new RedisSessionStoreOptions { Configuration = "localhost:1", RequireReplicaAcks = -1 }));
    }

    [Fact]
    public async Task RequireReplicaAcks_OnGarnet_FailsClearlyBeforeWritingAnything()
    {
        await using var garnet = await TestServer.StartGarnetAsync();
        await using var redis = await ConnectionMultiplexer.ConnectAsync($"{garnet.Endpoint},allowAdmin=true");
        var store = new RedisSessionStore(redis, new RedisSessionStoreOptions { KeyPrefix = RedisFixture.UniquePrefix("garnet"), RequireReplicaAcks = 1 });
        var session = store.Open(null);
        session.Set("n", 1, ContractJsonContext.Default.Int32);

        var error = await Assert.ThrowsAsync<NotSupportedException>(async () => await session.CommitAsync());

        Assert.Contains("WAIT", error.Message, StringComparison.Ordinal);
        Assert.Contains("RequireReplicaAcks", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, await redis.GetServer(garnet.Endpoint).DatabaseSizeAsync());
    }
}
