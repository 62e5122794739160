using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Time.Testing;
using StateKit.DependencyInjection;
using StateKit.Sticky;
using StateKit.Testing;
using static StateKit.Tests.Sticky.StickyTestKit;

namespace StateKit.Tests.Sticky;

/// <summary>A drain while the node keeps running: sessions move to the backup, and the node serves nothing from memory after.</summary>
public sealed class StickyDrainTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 30, 3, 0, 0, TimeSpan.Zero));

    private StickySessionStore Node(string node, ISessionStore? backup) => new(Options(node), backup, _time);

    private static Task<HealthCheckResult> CheckAsync(StickySessionStore store)
        => new StickyDrainHealthCheck(store).CheckHealthAsync(new HealthCheckContext());

    [Fact]
    public async Task Drain_WhileRunning_MovesEverySessionAndDropsItFromMemory()
    {
        using var gated = new GatedSessionStore(Backup(_time));
        await using var a = Node("a", gated);
        await using var b = Node("b", gated);
        var tickets = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            tickets.Add(await CreateAsync(a, 0));
        }

        // The backup falls behind: changes wait in the write-behind queue when the drain is asked for.
        gated.Close();
        for (var i = 0; i < 20; i++)
        {
            tickets[i] = await SetAsync(a, tickets[i], i + 1);
        }

        gated.Open();
        var result = await a.DrainAsync();

        Assert.Equal(StickyDrainState.Drained, a.DrainState);
        Assert.Equal(20, result.Flushed);
        Assert.Equal(0, a.Count);
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(i + 1, (await ReadAsync(b, tickets[i])).Cart);
        }
    }

    [Fact]
    public async Task Drained_RequestsStillReachingTheNode_GoThroughTheBackupAndKeepNothingInMemory()
    {
        var backup = Backup(_time);
        await using var a = Node("a", backup);
        await using var c = Node("c", backup);
        var ticket = await CreateAsync(a, 1);
        await a.DrainAsync();

        // The proxy has not learnt yet: the user's next requests still reach the drained node.
        var (cart, sameTicket) = await ReadAsync(a, ticket);
        ticket = await SetAsync(a, ticket, 2);
        var created = await CreateAsync(a, 7);

        Assert.Equal(1, cart);
        Assert.Equal(ticket, sameTicket);
        Assert.True(StickyTicket.TryReadNodeId(ticket, [Key1], out var owner));
        Assert.Equal("a", owner);
        Assert.Equal(0, a.Count);

        // Every write reached the backup before the request returned: any node reads it.
        Assert.Equal(2, (await ReadAsync(c, ticket)).Cart);
        Assert.Equal(7, (await ReadAsync(c, created)).Cart);
    }

    [Fact]
    public async Task Drained_AnotherNodeChangedTheSession_TheDrainedNodeReadsTheNewValueNotItsOldCopy()
    {
        var backup = Backup(_time);
        await using var a = Node("a", backup);
        await using var b = Node("b", backup);
        var ticket = await CreateAsync(a, 1);
        await a.DrainAsync();

        // B takes the session over and its change reaches the backup; a stale request then lands on the drained node.
        var moved = (await ReadAsync(b, ticket)).Ticket!;
        await SetAsync(b, moved, 5);
        await b.DrainAsync();

        Assert.Equal(5, (await ReadAsync(a, ticket)).Cart);
    }

    [Fact]
    public async Task Drain_ARequestIsWritingFromMemory_WaitsForItAndMovesItsWrite()
    {
        using var gated = new GatedSessionStore(Backup(_time));
        await using var a = Node("a", gated);
        await using var b = Node("b", gated);
        var ticket = await CreateAsync(a, 1);

        // Binding a user writes to the backup before the request returns: a request served from memory, held at the gate.
        gated.Close();
        var session = a.Open(ticket);
        await session.LoadAsync();
        session.Set("cart", 2, ContractJsonContext.Default.Int32);
        session.BindUser("alice");
        var inFlight = session.CommitAsync().AsTask();
        await gated.WaitForHeldWriteAsync();

        var drain = a.DrainAsync();
        Assert.False(drain.IsCompleted);
        Assert.Equal(StickyDrainState.Draining, a.DrainState);
        gated.Open();
        await inFlight;
        var result = await drain;

        Assert.Equal(1, result.Flushed);
        Assert.Equal(StickyDrainState.Drained, a.DrainState);
        Assert.Equal(2, (await ReadAsync(b, ticket)).Cart);
    }

    [Fact]
    public async Task Drain_ARequestArrivesWhileItsSessionMoves_ItsWriteLandsAfterTheMove()
    {
        using var gated = new GatedSessionStore(Backup(_time));
        await using var a = Node("a", gated);
        await using var b = Node("b", gated);
        // Created in the backup synchronously: no earlier write has passed the gate.
        var ticket = await CreateAsync(a, 2);

        gated.Close();
        var drain = a.DrainAsync();
        await gated.WaitForHeldWriteAsync();

        // The move of the session is held; a write to it waits for the move, then goes to the backup.
        var write = SetAsync(a, ticket, 3);
        Assert.False(write.IsCompleted);
        gated.Open();
        await drain;
        await write;

        Assert.Equal(3, (await ReadAsync(b, ticket)).Cart);
        Assert.Equal(0, a.Count);
    }

    [Fact]
    public async Task Drain_TheBackupFailsAMove_StaysDrainingKeepsTheSessionAndARetryFinishes()
    {
        var backup = new FailingSessionStore(Backup(_time));
        await using var a = Node("a", backup);
        await using var b = Node("b", backup);
        var ticket = await CreateAsync(a, 1);
        ticket = await SetAsync(a, ticket, 2);
        await WaitForBackupAsync(a);

        backup.Failing = true;
        var failed = await a.DrainAsync();

        Assert.Equal(1, failed.Failed);
        Assert.Equal(StickyDrainState.Draining, a.DrainState);
        Assert.Equal(1, a.Count);
        await Assert.ThrowsAsync<SessionStoreUnavailableException>(async () => await a.LoadAsync(ticket));

        backup.Failing = false;
        var retried = await a.DrainAsync();

        Assert.Equal(1, retried.Flushed);
        Assert.Equal(StickyDrainState.Drained, a.DrainState);
        Assert.Equal(2, (await ReadAsync(b, ticket)).Cart);
    }

    [Fact]
    public async Task Drain_WithoutBackup_KeepsServingFromMemory()
    {
        await using var a = Node("a", null);
        var ticket = await CreateAsync(a, 1);

        await a.DrainAsync();

        Assert.Equal(StickyDrainState.Serving, a.DrainState);
        Assert.Equal(HealthStatus.Healthy, (await CheckAsync(a)).Status);
        Assert.Equal(1, (await ReadAsync(a, ticket)).Cart);
    }

    [Fact]
    public async Task HealthCheck_ServingDrainingDrained_HealthyThenDegradedThenUnhealthyWithDraining()
    {
        using var gated = new GatedSessionStore(Backup(_time));
        await using var a = Node("a", gated);
        await CreateAsync(a, 1);
        var serving = await CheckAsync(a);

        gated.Close();
        var drain = a.DrainAsync();
        await gated.WaitForHeldWriteAsync();
        var draining = await CheckAsync(a);
        gated.Open();
        await drain;
        var drained = await CheckAsync(a);

        Assert.Equal(HealthStatus.Healthy, serving.Status);
        Assert.Equal(HealthStatus.Degraded, draining.Status);
        Assert.Contains("draining", draining.Description, StringComparison.Ordinal);
        Assert.Equal(nameof(StickyDrainState.Draining), draining.Data["drain"]);
        Assert.Equal(HealthStatus.Unhealthy, drained.Status);
        Assert.Contains("draining", drained.Description, StringComparison.Ordinal);
        Assert.Equal(nameof(StickyDrainState.Drained), drained.Data["drain"]);
    }

    [Fact]
    public async Task HealthCheck_CreatedByTheServiceProvider_ChecksTheDefaultStickyStore()
    {
        var services = new ServiceCollection();
        services.AddDistributedMemoryCache();
        services.AddStateKit(kit => kit
            .UseSticky(o => { o.NodeId = "a"; o.Keys.Add(Key1); o.BackupStoreName = "backup"; })
            .AddStore("backup", b => b.UseDistributedCache()));
        await using var provider = services.BuildServiceProvider();

        // What AddHealthChecks().AddCheck<StickyDrainHealthCheck>(...) does.
        var check = ActivatorUtilities.GetServiceOrCreateInstance<StickyDrainHealthCheck>(provider);
        await provider.GetRequiredKeyedService<StickySessionStore>(SessionStores.DefaultName).DrainAsync();

        Assert.Equal(HealthStatus.Unhealthy, (await check.CheckHealthAsync(new HealthCheckContext())).Status);
    }

    /// <summary>A real store whose writes to existing sessions fail, as a backup in an outage does, while <see cref="Failing"/>.</summary>
    private sealed class FailingSessionStore(ISessionStore inner) : ISessionStore
    {
        public volatile bool Failing;

        public SessionStoreCapabilities Capabilities => inner.Capabilities;

        public ValueTask<SessionSnapshot?> LoadAsync(string ticket, System.Threading.CancellationToken cancellationToken = default) => inner.LoadAsync(ticket, cancellationToken);

        public ValueTask<SessionCommitResult> CommitAsync(SessionCommit commit, System.Threading.CancellationToken cancellationToken = default)
            => Failing && commit.Ticket is not null ? throw new SessionStoreUnavailableException("the backup is down", null) : inner.CommitAsync(commit, cancellationToken);

        public ValueTask<bool> RevokeAsync(string sessionId, System.Threading.CancellationToken cancellationToken = default) => inner.RevokeAsync(sessionId, cancellationToken);

        public ValueTask<int> RevokeUserAsync(string userId, System.Threading.CancellationToken cancellationToken = default) => inner.RevokeUserAsync(userId, cancellationToken);
    }
}
