using System;
using System.Threading.Tasks;
using Microsoft.Extensions.Time.Testing;
using StateKit.Sticky;
using StateKit.Testing;

namespace StateKit.Tests.Sticky;

/// <summary>
/// The interleaving behind a one-off failure of <c>StickySessionStoreWithBackupContractTests.Load_AfterAbsoluteLifetime_IsNoSessionEvenWhenActive</c>
/// on a busy machine: the test reads every half idle timeout, each read queues a refresh of the backup copy, and the
/// fake clock jumped before the replication loop had written it. The backup gate holds the write to force that order.
/// </summary>
public sealed class StickyBackupContractClockTests
{
    private static readonly TimeSpan Step = SessionStoreContract.IdleTimeout / 2;

    [Fact]
    public async Task Refresh_WrittenOnlyAfterTheClockMovedHalfTheIdleTimeout_FindsTheBackupCopyIdledOutAndTheSessionIsGone()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
        using var gate = new GatedSessionStore(StickyTestKit.Backup(time));
        await using var store = new StickySessionStore(StickyTestKit.Options("node-a"), gate, time);
        var ticket = await StickyTestKit.CreateAsync(store, 1);
        time.Advance(Step);
        gate.Close();

        // The contract's read: served from memory, and due for a refresh (the copy was written half an idle timeout ago).
        Assert.Equal(1, (await StickyTestKit.ReadAsync(store, ticket)).Cart);
        await gate.WaitForHeldWriteAsync();

        // The contract's next step moves the clock before the loop writes: the copy was last touched a whole idle timeout ago.
        time.Advance(Step);
        gate.Open();
        await StickyTestKit.WaitForBackupAsync(store);

        // The write finds no copy, and the store drops its own (what keeps a revocation made elsewhere from being served):
        // the contract's Assert.Equal(1, ReadIntAsync(...)) then saw null.
        Assert.Null((await StickyTestKit.ReadAsync(store, ticket)).Cart);
    }

    [Fact]
    public async Task AdvanceAsync_WhileAWriteBehindWriteIsHeld_MovesTheClockOnlyOnceTheWriteLanded()
    {
        var contract = new GatedContract();
        var start = contract.Now;
        var ticket = await contract.CreateAsync();
        using var gate = contract.Gate;
        await contract.AdvanceByAsync(Step);
        gate.Close();
        Assert.Equal(1, await contract.ReadAsync(ticket));
        await gate.WaitForHeldWriteAsync();

        var advance = contract.AdvanceByAsync(Step);

        // The refresh is still held: the clock must not have moved under it.
        Assert.Equal(start + Step, contract.Now);
        gate.Open();
        await advance;
        Assert.Equal(start + Step + Step, contract.Now);
        Assert.Equal(1, await contract.ReadAsync(ticket));
    }

    /// <summary>The contract's sticky-with-backup store and helpers, over a gated backup. Not public: xunit does not run its inherited tests.</summary>
    private sealed class GatedContract : StickySessionStoreWithBackupContractTests
    {
        public GatedSessionStore Gate { get; private set; } = null!;

        public DateTimeOffset Now => Time.GetUtcNow();

        public Task<string> CreateAsync() => CreateSessionAsync(("n", 1));

        public Task<int?> ReadAsync(string ticket) => ReadIntAsync(ticket, "n");

        public Task AdvanceByAsync(TimeSpan by) => AdvanceAsync(by);

        protected override ISessionStore CreateBackup() => Gate = new GatedSessionStore(base.CreateBackup());
    }
}
