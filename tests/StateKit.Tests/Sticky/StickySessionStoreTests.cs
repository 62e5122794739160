using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Time.Testing;
using StateKit.Caching;
using StateKit.Sticky;
using static StateKit.Tests.Sticky.StickyTestKit;

namespace StateKit.Tests.Sticky;

public sealed class StickySessionStoreTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));

    private static bool Mine<T>(CollectedMeasurement<T> m, StickySessionStore store)
        where T : struct => Equals(m.Tags["statekit.store"], StoreName(store));

    private static readonly Dictionary<StickySessionStore, string> Names = [];

    private static string StoreName(StickySessionStore store)
    {
        lock (Names)
        {
            return Names[store];
        }
    }

    private StickySessionStore Node(string node, ISessionStore? backup, Action<StickySessionStoreOptions>? configure = null, ISessionInvalidationBus? bus = null)
    {
        var options = Options(node, configure);
        var store = new StickySessionStore(options, backup, _time, bus: bus);
        lock (Names)
        {
            Names[store] = options.Name!;
        }

        return store;
    }

    [Fact]
    public void Capabilities_SayWhereStateLivesAndWhetherItSurvivesNodeLoss()
    {
        var alone = Node("a", null).Capabilities;
        var backed = Node("a", Backup(_time)).Capabilities;

        Assert.Equal(StateLocation.Process, alone.Location);
        Assert.False(alone.SurvivesNodeLoss);
        Assert.Equal(StateLocation.Process, backed.Location);
        Assert.True(backed.SurvivesNodeLoss);
        Assert.Throws<ArgumentException>(() => new StickySessionStore(Options("a"), Node("b", null), _time));
    }

    [Fact]
    public async Task Load_OnAnotherNodeWithBackup_RehydratesTakesOwnershipAndReissuesTheTicket()
    {
        using var rehydrated = new MetricCollector<long>(null, StateKitDiagnostics.MeterName, "statekit.sticky.sessions.rehydrated");
        var backup = Backup(_time);
        await using var a = Node("a", backup);
        await using var b = Node("b", backup);
        var ticket = await CreateAsync(a, 1);
        ticket = await SetAsync(a, ticket, 2);
        await WaitForBackupAsync(a);

        var (cart, next) = await ReadAsync(b, ticket);

        Assert.Equal(2, cart);
        Assert.NotEqual(ticket, next);
        Assert.True(StickyTicket.TryReadNodeId(next, [Key1], out var owner));
        Assert.Equal("b", owner);
        Assert.Equal(1, b.Count);
        Assert.Contains(rehydrated.GetMeasurementSnapshot(), m => Mine(m, b));

        // The new owner serves it from memory from now on, and a change goes on from there.
        next = await SetAsync(b, next!, 3);
        Assert.Equal(3, (await ReadAsync(b, next)).Cart);
    }

    [Fact]
    public async Task Commit_BlindWriteOnAnotherNode_RehydratesThenAppliesAndNamesThisNode()
    {
        var backup = Backup(_time);
        await using var a = Node("a", backup);
        await using var b = Node("b", backup);
        var session = a.Open(null);
        session.Set("cart", 1, Testing.ContractJsonContext.Default.Int32);
        session.Set("theme", 9, Testing.ContractJsonContext.Default.Int32);
        var ticket = (await session.CommitAsync()).Ticket!;

        var next = await SetAsync(b, ticket, 5);

        Assert.True(StickyTicket.TryReadNodeId(next, [Key1], out var owner));
        Assert.Equal("b", owner);
        var loaded = b.Open(next);
        Assert.Equal(5, await loaded.GetAsync("cart", Testing.ContractJsonContext.Default.Int32));
        Assert.Equal(9, loaded.Get("theme", Testing.ContractJsonContext.Default.Int32));
    }

    [Fact]
    public async Task Load_OnAnotherNodeWithoutBackup_IsNoSessionCountedAsLost()
    {
        using var lost = new MetricCollector<long>(null, StateKitDiagnostics.MeterName, "statekit.sticky.sessions.lost");
        var a = Node("a", null);
        var b = Node("b", null);
        var ticket = await CreateAsync(a, 1);
        var other = await CreateAsync(a, 7);

        Assert.Null((await ReadAsync(b, ticket)).Cart);

        Assert.Single(lost.GetMeasurementSnapshot(), m => Mine(m, b) && Equals(m.Tags["statekit.reason"], "no_backup"));
        Assert.Equal(7, (await ReadAsync(a, other)).Cart);
    }

    [Fact]
    public async Task Commit_BlindWriteOnAnotherNodeWithoutBackup_IsNotFoundCountedAsLost()
    {
        using var lost = new MetricCollector<long>(null, StateKitDiagnostics.MeterName, "statekit.sticky.sessions.lost");
        var a = Node("a", null);
        var b = Node("b", null);
        var ticket = await CreateAsync(a, 1);

        var result = await b.CommitAsync(new SessionCommit { Ticket = ticket, Upserts = new Dictionary<string, ReadOnlyMemory<byte>> { ["cart"] = "2"u8.ToArray() } });

        Assert.Equal(SessionCommitOutcome.NotFound, result.Outcome);
        Assert.Single(lost.GetMeasurementSnapshot(), m => Mine(m, b) && Equals(m.Tags["statekit.reason"], "no_backup"));
        Assert.Equal(1, (await ReadAsync(a, ticket)).Cart);
    }

    [Fact]
    public async Task Load_ExpiredOnItsOwnNode_IsNotCountedAsLost()
    {
        using var lost = new MetricCollector<long>(null, StateKitDiagnostics.MeterName, "statekit.sticky.sessions.lost");
        var a = Node("a", null);
        var ticket = await CreateAsync(a, 1);

        _time.Advance(Testing.SessionStoreContract.IdleTimeout);

        Assert.Null((await ReadAsync(a, ticket)).Cart);
        Assert.DoesNotContain(lost.GetMeasurementSnapshot(), m => Mine(m, a));
    }

    [Fact]
    public async Task Revoke_OnTheOwner_IsNeverRehydratedElsewhere()
    {
        var backup = Backup(_time);
        await using var a = Node("a", backup);
        await using var b = Node("b", backup);
        var ticket = await CreateAsync(a, 1);
        var session = a.Open(ticket);
        session.Revoke();
        await session.CommitAsync();

        Assert.Null((await ReadAsync(b, ticket)).Cart);
    }

    [Fact]
    public async Task WriteBehind_ManyChangesWhileTheBackupIsBusy_CoalesceIntoFewWrites()
    {
        using var gated = new GatedSessionStore(Backup(_time));
        await using var a = Node("a", gated);
        await using var b = Node("b", gated);
        var ticket = await CreateAsync(a, 0);
        gated.Close();
        ticket = await SetAsync(a, ticket, 1);
        await gated.WaitForHeldWriteAsync();

        for (var i = 2; i <= 100; i++)
        {
            ticket = await SetAsync(a, ticket, i);
        }

        Assert.Equal(1, a.BackupQueueLength);
        gated.Open();
        await WaitForBackupAsync(a);

        Assert.Equal(2, gated.Replications);
        Assert.Equal(100, (await ReadAsync(b, ticket)).Cart);
    }

    [Fact]
    public async Task WriteBehind_BackupWithRoundTrips_WritesManySessionsAtOnceAndLosesOnlyWhatIsInFlight()
    {
        // A backup across a network (Redis) costs a round trip per write. Written one at a time, the queue grew to every
        // busy session of the node, and a crash lost the last change of each (ClusterDemo: 30 sessions with Redis).
        using var held = new PermitSessionStore(Backup(_time));
        var a = Node("a", held);
        await using var b = Node("b", held);
        var tickets = new List<string>();
        for (var i = 0; i < 40; i++)
        {
            tickets.Add(await CreateAsync(a, 0));
        }

        tickets[0] = await SetAsync(a, tickets[0], 1);
        await held.WaitForHeldAsync(1);
        for (var i = 1; i < 40; i++)
        {
            tickets[i] = await SetAsync(a, tickets[i], 1);
        }

        // One round trip later, the next 16 sessions are on the wire together, not one.
        held.Release(1);
        await held.WaitForHeldAsync(16);
        held.Release(16);
        await held.WaitForHeldAsync(16);
        held.Release(16);
        await held.WaitForHeldAsync(7);
        Assert.Equal(7, a.BackupInFlight);

        // A change to a session whose write is in flight waits for the next batch: never two writes of one session at once.
        tickets[39] = await SetAsync(a, tickets[39], 2);
        held.Release(7);
        await held.WaitForHeldAsync(1);
        held.Release(1);
        await WaitForBackupAsync(a);
        Assert.False(held.Overlapped);

        // The crash: a loses nothing the backup had acknowledged, and b takes every session over.
        tickets[0] = await SetAsync(a, tickets[0], 3);
        await held.WaitForHeldAsync(1);
        await a.DisposeAsync();
        held.Release(100);
        for (var i = 0; i < 40; i++)
        {
            Assert.Equal(i switch { 0 => 1, 39 => 2, _ => 1 }, (await ReadAsync(b, tickets[i])).Cart);
        }
    }

    [Theory]
    [InlineData(StickyBackupQueueFullMode.Drop)]
    [InlineData(StickyBackupQueueFullMode.Wait)]
    public async Task WriteBehind_QueueFull_DropsCountsAndTheDrainCatchesUp(StickyBackupQueueFullMode mode)
    {
        using var dropped = new MetricCollector<long>(null, StateKitDiagnostics.MeterName, "statekit.sticky.backup.dropped");
        using var gated = new GatedSessionStore(Backup(_time));
        await using var a = Node("a", gated, o => { o.BackupQueueCapacity = 2; o.BackupQueueFullMode = mode; });
        await using var b = Node("b", gated);
        var tickets = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            tickets.Add(await CreateAsync(a, 0));
        }

        gated.Close();
        await SetAsync(a, tickets[0], 1);
        await gated.WaitForHeldWriteAsync();
        await SetAsync(a, tickets[1], 1);
        await SetAsync(a, tickets[2], 1);
        foreach (var ticket in tickets.Skip(3))
        {
            var commit = SetAsync(a, ticket, 1);
            if (mode == StickyBackupQueueFullMode.Wait)
            {
                // Back-pressure: the commit waits for room until the timeout, on the store's clock.
                Assert.False(commit.IsCompleted);
                _time.Advance(TimeSpan.FromMilliseconds(100));
            }

            await commit;
        }

        Assert.Equal(2, dropped.GetMeasurementSnapshot().Count(m => Mine(m, a) && Equals(m.Tags["statekit.reason"], "queue_full")));
        Assert.Equal(2, a.BackupQueueLength);

        // The dropped changes are not lost while the node lives: the drain writes every live session.
        gated.Open();
        var drained = await a.DrainAsync();
        Assert.Equal(5, drained.Flushed);
        foreach (var ticket in tickets)
        {
            Assert.Equal(1, (await ReadAsync(b, ticket)).Cart);
        }
    }

    [Fact]
    public async Task WriteBehind_Lag_IsMeasuredOnTheStoreClock()
    {
        using var lag = new MetricCollector<double>(null, StateKitDiagnostics.MeterName, "statekit.sticky.backup.lag");
        using var length = new MetricCollector<long>(null, StateKitDiagnostics.MeterName, "statekit.sticky.backup.queue.length");
        using var gated = new GatedSessionStore(Backup(_time));
        await using var a = Node("a", gated);
        var ticket = await CreateAsync(a, 0);
        gated.Close();
        await SetAsync(a, ticket, 1);
        await gated.WaitForHeldWriteAsync();

        _time.Advance(TimeSpan.FromSeconds(3));
        gated.Open();
        await WaitForBackupAsync(a);

        Assert.Contains(lag.GetMeasurementSnapshot(), m => Mine(m, a) && m.Value >= 3);
        Assert.Equal(0, length.GetMeasurementSnapshot().Where(m => Mine(m, a)).Sum(m => m.Value));
        Assert.Contains(length.GetMeasurementSnapshot(), m => Mine(m, a) && m.Value == 1);
    }

    [Fact]
    public async Task Drain_FlushesEverySessionSoAnotherNodeLosesNothing()
    {
        using var gated = new GatedSessionStore(Backup(_time));
        await using var a = Node("a", gated);
        await using var b = Node("b", gated);
        var tickets = new List<string>();
        for (var i = 0; i < 50; i++)
        {
            tickets.Add(await CreateAsync(a, 0));
        }

        // The backup falls behind: the queue holds changes when the node is told to stop.
        gated.Close();
        for (var i = 0; i < 50; i++)
        {
            tickets[i] = await SetAsync(a, tickets[i], i + 1);
        }

        gated.Open();
        var result = await a.DrainAsync();

        Assert.Equal(new StickyDrainResult { Sessions = 50, Flushed = 50, HasBackup = true, Elapsed = result.Elapsed }, result);
        for (var i = 0; i < 50; i++)
        {
            Assert.Equal(i + 1, (await ReadAsync(b, tickets[i])).Cart);
        }
    }

    [Fact]
    public async Task Drain_BackupTooSlow_StopsAtTheDeadlineAndReportsWhatRemains()
    {
        using var gated = new GatedSessionStore(Backup(_time));
        await using var a = Node("a", gated, o => o.DrainTimeout = TimeSpan.FromSeconds(5));
        for (var i = 0; i < 20; i++)
        {
            await CreateAsync(a, i);
        }

        gated.Close();
        var drain = a.DrainAsync();
        await gated.WaitForHeldWriteAsync();
        _time.Advance(TimeSpan.FromSeconds(5));
        var result = await drain;

        Assert.Equal(20, result.Sessions);
        Assert.Equal(0, result.Flushed);
        Assert.Equal(20, result.Remaining);
    }

    [Fact]
    public async Task Drain_WithoutBackup_ReportsTheSessionsItLoses()
    {
        var a = Node("a", null);
        await CreateAsync(a, 1);
        await CreateAsync(a, 2);

        var result = await a.DrainAsync();

        Assert.False(result.HasBackup);
        Assert.Equal(2, result.Sessions);
        Assert.Equal(2, result.Remaining);
    }

    [Fact]
    public async Task Dispose_AbruptStop_LosesOnlyTheQueuedWrites()
    {
        using var gated = new GatedSessionStore(Backup(_time));
        var a = Node("a", gated);
        await using var b = Node("b", gated);
        var kept = await CreateAsync(a, 1);
        var changed = await CreateAsync(a, 1);
        gated.Close();
        changed = await SetAsync(a, changed, 2);
        await gated.WaitForHeldWriteAsync();

        await a.DisposeAsync();
        gated.Open();

        Assert.Equal(1, (await ReadAsync(b, kept)).Cart);
        Assert.Equal(1, (await ReadAsync(b, changed)).Cart);
    }

    [Fact]
    public void Capabilities_ClaimRevocationOnlyWhereItReachesEveryNode()
    {
        var bus = new InMemorySessionInvalidationBus();
        Assert.Equal(RevocationSupport.None, Node("a", null).Capabilities.Revocation);
        Assert.Equal(RevocationSupport.ById | RevocationSupport.ByUser, Node("a", null, bus: bus).Capabilities.Revocation);

        // A distributed cache keeps no user index: the copies other nodes own cannot be found by user.
        Assert.Equal(RevocationSupport.ById, Node("a", Backup(_time)).Capabilities.Revocation);
        Assert.Equal(RevocationSupport.ById, Node("a", Backup(_time), bus: bus).Capabilities.Revocation);

        // A backup that revokes by user finds every node's copies; the owners drop theirs (at once with a bus).
        var indexed = new StateKit.Memory.InMemorySessionStore(new StateKit.Memory.InMemorySessionStoreOptions());
        Assert.Equal(RevocationSupport.ById | RevocationSupport.ByUser, Node("a", new ServerSide(indexed)).Capabilities.Revocation);
    }

    [Fact]
    public async Task Revoke_OnANodeThatDoesNotOwnTheSession_EndsItOnTheOwnerBeforeItReturns()
    {
        var bus = new InMemorySessionInvalidationBus();
        var backup = Backup(_time);
        await using var a = Node("a", backup, bus: bus);
        await using var b = Node("b", backup, bus: bus);
        var ticket = await CreateAsync(a, 1);

        Assert.True(await b.RevokeAsync(SessionId(ticket)));

        Assert.Equal(0, a.Count);
        Assert.Null((await ReadAsync(a, ticket)).Cart);
    }

    [Fact]
    public async Task Revoke_WithoutABackup_OnANodeThatDoesNotOwnTheSession_EndsItOnTheOwner()
    {
        var bus = new InMemorySessionInvalidationBus();
        await using var a = Node("a", null, bus: bus);
        await using var b = Node("b", null, bus: bus);
        var ticket = await CreateAsync(a, 1);
        var other = await CreateAsync(a, 2);

        Assert.False(await b.RevokeAsync(SessionId(ticket)));

        Assert.Null((await ReadAsync(a, ticket)).Cart);
        Assert.Equal(2, (await ReadAsync(a, other)).Cart);
    }

    [Fact]
    public async Task RevokeUser_WithABus_EndsTheUsersSessionsOnEveryNode()
    {
        var bus = new InMemorySessionInvalidationBus();
        var nodes = new[] { Node("a", null, bus: bus), Node("b", null, bus: bus), Node("c", null, bus: bus) };
        var tickets = new List<(StickySessionStore Node, string Ticket)>();
        foreach (var node in nodes)
        {
            var session = node.Open(null);
            session.Set("cart", 1, Testing.ContractJsonContext.Default.Int32);
            session.BindUser("alice");
            tickets.Add((node, (await session.CommitAsync()).Ticket!));
        }

        var bystander = await CreateAsync(nodes[1], 9);

        await nodes[2].RevokeUserAsync("alice");

        foreach (var (node, ticket) in tickets)
        {
            Assert.Null((await ReadAsync(node, ticket)).Cart);
        }

        Assert.Equal(9, (await ReadAsync(nodes[1], bystander)).Cart);
    }

    [Fact]
    public async Task Commit_RevokeOnTheNodeThatTookTheSessionOver_FormerOwnerDropsItsCopy()
    {
        var bus = new InMemorySessionInvalidationBus();
        var backup = Backup(_time);
        await using var a = Node("a", backup, bus: bus);
        await using var b = Node("b", backup, bus: bus);
        var stolen = await CreateAsync(a, 1);

        // The proxy bypassed node a once: node b took the session over; a still holds its copy. The user signs out on b.
        var (_, onB) = await ReadAsync(b, stolen);
        var session = b.Open(onB);
        session.Revoke();
        Assert.Equal(SessionCommitOutcome.Deleted, (await session.CommitAsync()).Outcome);

        Assert.Equal(0, a.Count);
        Assert.Null((await ReadAsync(a, stolen)).Cart);
    }

    [Fact]
    public async Task Rehydrate_ReadsTheCopyBeforeARevocationRemovesIt_DoesNotTakeTheRevokedSessionOver()
    {
        var bus = new InMemorySessionInvalidationBus();
        var shared = Backup(_time);
        using var gated = new LoadGatedSessionStore(shared);
        await using var a = Node("a", shared, bus: bus);
        await using var b = Node("b", gated, bus: bus);
        var ticket = await CreateAsync(a, 1);

        // Node b reads the backup copy for a take-over and is held there; the session is revoked meanwhile.
        gated.Close();
        var takeOver = ReadAsync(b, ticket);
        await gated.WaitForHeldLoadAsync();
        Assert.True(await a.RevokeAsync(SessionId(ticket)));
        gated.Open();

        Assert.Null((await takeOver).Cart);
        Assert.Equal(0, b.Count);
    }

    [Fact]
    public async Task BusReconnected_SessionsRecheckTheirBackupCopyAtTheirNextRequest()
    {
        var bus = new InMemorySessionInvalidationBus();
        var backup = Backup(_time);
        await using var a = Node("a", backup, bus: bus);
        var ticket = await CreateAsync(a, 1);

        // A revocation whose message was lost: the backup copy is gone, node a was not told; then the bus reconnects.
        Assert.True(await backup.RevokeAsync(SessionId(ticket)));
        bus.Reconnected();
        Assert.Equal(1, (await ReadAsync(a, ticket)).Cart);
        await WaitForBackupAsync(a);

        Assert.Null((await ReadAsync(a, ticket)).Cart);
    }

    [Fact]
    public async Task Replication_FindsTheBackupCopyGone_OwnerEvictsItsCopy()
    {
        var backup = Backup(_time);
        await using var a = Node("a", backup);
        var ticket = await CreateAsync(a, 1);
        Assert.True(await backup.RevokeAsync(SessionId(ticket)));

        // The next change is copied behind the request; the backup answers that the session is gone.
        await SetAsync(a, ticket, 2);
        await WaitForBackupAsync(a);

        Assert.Null((await ReadAsync(a, ticket)).Cart);
        Assert.Equal(0, a.Count);
    }

    [Fact]
    public async Task Refresh_OfASessionOnlyReadFindsTheBackupCopyGone_OwnerEvictsItsCopy()
    {
        var backup = Backup(_time);
        await using var a = Node("a", backup);
        var ticket = await CreateAsync(a, 1);
        Assert.True(await backup.RevokeAsync(SessionId(ticket)));

        // A read once the backup copy is due for its refresh queues a full write; the backup answers that it is gone.
        _time.Advance(Testing.SessionStoreContract.IdleTimeout / 4);
        Assert.Equal(1, (await ReadAsync(a, ticket)).Cart);
        await WaitForBackupAsync(a);

        Assert.Null((await ReadAsync(a, ticket)).Cart);
    }

    [Fact]
    public async Task Commit_FloodOfAnonymousSessions_EvictsNoUserBoundSession()
    {
        // The byte bound this time: about 16 sessions of 1 KiB fit.
        var a = Node("a", null, o => { o.MaxPayloadBytes = 2048; o.MaxBytes = 16 * (1024 + 512); });
        var users = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var session = a.Open(null);
            session.SetBytes("blob", new byte[1024]);
            session.BindUser("user-" + i);
            users.Add((await session.CommitAsync()).Ticket!);
        }

        for (var i = 0; i < 500; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(1));
            var session = a.Open(null);
            session.SetBytes("blob", new byte[1024]);
            await session.CommitAsync();
        }

        foreach (var ticket in users)
        {
            var session = a.Open(ticket);
            await session.LoadAsync();
            Assert.True(session.Exists, "a user-bound session was evicted by anonymous ones");
        }
    }

    [Fact]
    public async Task Churn_SessionsCreatedFasterThanTheyExpire_StayWithinTheBound()
    {
        using var evictions = new MetricCollector<long>(null, StateKitDiagnostics.MeterName, "statekit.session.evictions");
        const long maxBytes = 1024 * 1024;
        var a = Node("a", null, o => { o.MaxSessions = 2_000; o.MaxBytes = maxBytes; });
        var payload = new byte[1024];

        // 40 MB of sessions into a 1 MB node, none of them expiring.
        for (var i = 0; i < 40_000; i++)
        {
            var session = a.Open(null);
            session.SetBytes("blob", payload);
            await session.CommitAsync();
            Assert.True(a.Bytes <= maxBytes);
        }

        Assert.True(a.Count <= 2_000);
        Assert.True(a.Bytes <= maxBytes, $"{a.Bytes} bytes charged");
        Assert.True(evictions.GetMeasurementSnapshot().Where(m => Mine(m, a)).Sum(m => m.Value) >= 39_000);

        // Everything else the node keeps per ticket is bounded too: the verified-ticket cache never outgrows its capacity.
        // The process heap is not asserted: tests running alongside share it. The benchmarks' --memory mode measures heap per
        // session for the SessionTable this node keeps its sessions in.
        Assert.InRange(a.VerifiedTicketCount, 0, a.VerifiedTicketCapacity);
    }

    private static string SessionId(string ticket)
    {
        Assert.True(StickyTicket.TryRead(ticket, [Key1], out var contents));
        return contents.SessionId;
    }
}
