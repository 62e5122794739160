using System;
using System.Threading.Tasks;
using StateKit.Sticky;
using StateKit.Testing;

namespace StateKit.Tests.Sticky;

/// <summary>The shared contract, on a sticky store alone (one node, no backup).</summary>
public sealed class StickySessionStoreContractTests : SessionStoreContract
{
    protected override ISessionStore CreateStore() => new StickySessionStore(StickyTestKit.Options("node-a"), backup: null, Time);
}

/// <summary>
/// The shared contract, on a sticky store with a backup store: every commit also reaches the backup (creation, deletion
/// and rotation synchronously, changes behind the request). The backup here is the core's distributed-cache store;
/// a Redis-backed variant is one more subclass overriding <see cref="CreateBackup"/>.
/// </summary>
public class StickySessionStoreWithBackupContractTests : SessionStoreContract
{
    protected virtual ISessionStore CreateBackup() => StickyTestKit.Backup(Time);

    protected override ISessionStore CreateStore() => new StickySessionStore(StickyTestKit.Options("node-a"), CreateBackup(), Time);

    /// <summary>
    /// Lets the write-behind queue reach the backup before the clock moves. A refresh queued at one instant and written
    /// after a jump of half the idle timeout is, to the backup, a write ten minutes late: it finds the copy idled out and
    /// the store drops its own, as it must for a copy revoked elsewhere. On a busy machine the replication loop can lose
    /// that race to the test (StickyBackupContractClockTests forces it).
    /// </summary>
    protected override async Task AdvanceAsync(TimeSpan by)
    {
        if (Store is StickySessionStore sticky)
        {
            await StickyTestKit.WaitForBackupAsync(sticky);
        }

        await base.AdvanceAsync(by);
    }
}

/// <summary>
/// The shared contract, on a sticky store on an in-process invalidation bus (one node, no backup): revocation by id and
/// by user reaches every node, so it is claimed, and the contract checks it.
/// </summary>
public sealed class StickySessionStoreWithBusContractTests : SessionStoreContract
{
    protected override ISessionStore CreateStore() => new StickySessionStore(StickyTestKit.Options("node-a"), backup: null, Time, bus: new StateKit.Caching.InMemorySessionInvalidationBus());
}
