using System;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.Extensions.Time.Testing;
using StateKit.Caching;
using StateKit.Events;
using StateKit.Sticky;
using StateKit.Testing;
using StateKit.Tests.Events;
using static StateKit.Tests.Sticky.StickyTestKit;

namespace StateKit.Tests.Sticky;

public sealed class StickySessionStoreEventsTests
{
    private static readonly TimeSpan Sweep = TimeSpan.FromSeconds(30);

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 30, 8, 0, 0, TimeSpan.Zero));

    [Fact]
    public async Task Expiry_SessionNoRequestTouchesAgain_TheSweepRaisesExpiredOnThisNode()
    {
        await using var harness = new EventHarness(_time, o => o.ExpirySweepInterval = Sweep);
        await using var a = new StickySessionStore(Options("a"), null, _time);
        var store = harness.Front(a, "sticky-a");
        var ticket = await CreateAsync(store, 1);
        var id = (await a.LoadAsync(ticket))!.Id;

        _time.Advance(SessionStoreContract.IdleTimeout + Sweep);

        var expired = await harness.Recorder.WaitForAsync(SessionEventKinds.Expired, id);
        Assert.Equal((SessionEventReason.IdleTimeout, "sticky-a"), (expired.Reason, expired.StoreName));
        Assert.Equal(0, a.Count);
        harness.Recorder.AssertNeverCarries(ticket);
        harness.Recorder.AssertNeverCarries(id);
    }

    [Fact]
    public async Task LimitSignOut_OnAnotherNodesSignIn_TheOwnerRaisesRevokedWithTheLimitAsReason()
    {
        await using var harness = new EventHarness(_time);
        var bus = new InMemorySessionInvalidationBus();
        var backup = ListingBackup.Create(_time, maxSessionsPerUser: 1);
        await using var a = new StickySessionStore(Options("a"), backup, _time, bus: bus);
        await using var b = new StickySessionStore(Options("b"), backup, _time, bus: bus);
        var nodeA = harness.Front(a, "sticky-a");
        var nodeB = harness.Front(b, "sticky-b");
        var first = nodeA.Open(null);
        first.Set("cart", 1, ContractJsonContext.Default.Int32);
        first.BindUser("ana");
        await first.CommitAsync();
        _time.Advance(TimeSpan.FromSeconds(1));

        var second = nodeB.Open(null);
        second.Set("cart", 2, ContractJsonContext.Default.Int32);
        second.BindUser("ana");
        await second.CommitAsync();

        var revoked = await harness.Recorder.WaitForAsync(SessionEventKinds.Revoked, first.BearerId!);
        Assert.Equal((SessionEventReason.SessionLimit, "sticky-a", "ana"), (revoked.Reason, revoked.StoreName, revoked.UserId));
    }

    [Fact]
    public async Task Drain_AndTakeOver_RaiseMigratedOnTheOldNodeAndRehydratedOnTheNew()
    {
        await using var harness = new EventHarness(_time);
        var backup = Backup(_time);
        await using var a = new StickySessionStore(Options("a"), backup, _time);
        await using var b = new StickySessionStore(Options("b"), backup, _time);
        var nodeA = harness.Front(a, "sticky-a");
        var nodeB = harness.Front(b, "sticky-b");
        var ticket = await CreateAsync(nodeA, 1);
        var id = (await a.LoadAsync(ticket))!.Id;

        await a.DrainAsync();
        var (cart, next) = await ReadAsync(nodeB, ticket);

        Assert.Equal(1, cart);
        var migrated = await harness.Recorder.WaitForAsync(SessionEventKinds.Migrated, id);
        var rehydrated = await harness.Recorder.WaitForAsync(SessionEventKinds.Rehydrated, id);
        Assert.Equal((SessionEventReason.MovedToBackup, "sticky-a"), (migrated.Reason, migrated.StoreName));
        Assert.Equal((SessionEventReason.TakenFromBackup, "sticky-b"), (rehydrated.Reason, rehydrated.StoreName));
        Assert.Equal(
            SessionEventKinds.Expired | SessionEventKinds.Evicted | SessionEventKinds.Revoked | SessionEventKinds.Migrated | SessionEventKinds.Rehydrated,
            a.Capabilities.Events);
        harness.Recorder.AssertNeverCarries(ticket);
        harness.Recorder.AssertNeverCarries(next!);
        harness.Recorder.AssertNeverCarries(id);
    }

    [Fact]
    public async Task RevokeUser_OverTheBus_EachNodeRaisesRevokedForTheSessionsItHeldOnce()
    {
        await using var harness = new EventHarness(_time);
        var bus = new InMemorySessionInvalidationBus();
        await using var a = new StickySessionStore(Options("a"), null, _time, bus: bus);
        await using var b = new StickySessionStore(Options("b"), null, _time, bus: bus);
        var nodeA = harness.Front(a, "sticky-a");
        var nodeB = harness.Front(b, "sticky-b");
        var onA = await CreateBoundAsync(nodeA, "erin");
        var onB = await CreateBoundAsync(nodeB, "erin");

        await nodeA.RevokeUserAsync("erin");

        var revokedA = await harness.Recorder.WaitForAsync(SessionEventKinds.Revoked, onA);
        var revokedB = await harness.Recorder.WaitForAsync(SessionEventKinds.Revoked, onB);
        Assert.Equal((SessionEventReason.RevokedByUser, "erin", "sticky-a"), (revokedA.Reason, revokedA.UserId, revokedA.StoreName));
        Assert.Equal((SessionEventReason.RevokedByUser, "erin", "sticky-b"), (revokedB.Reason, revokedB.UserId, revokedB.StoreName));
        await harness.FlushAsync();
        Assert.Equal(2, harness.Recorder.Events.Count(e => e.Kind == SessionEventKinds.Revoked));
    }

    private static async Task<string> CreateBoundAsync(ISessionStore store, string user)
    {
        var session = store.Open(null);
        session.Set("cart", 1, ContractJsonContext.Default.Int32);
        session.BindUser(user);
        return (await session.CommitAsync()).SessionId!;
    }
}
