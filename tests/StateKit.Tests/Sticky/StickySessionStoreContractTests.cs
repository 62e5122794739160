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
}

/// <summary>
/// The shared contract, on a sticky store on an in-process invalidation bus (one node, no backup): revocation by id and
/// by user reaches every node, so it is claimed, and the contract checks it.
/// </summary>
public sealed class StickySessionStoreWithBusContractTests : SessionStoreContract
{
    protected override ISessionStore CreateStore() => new StickySessionStore(StickyTestKit.Options("node-a"), backup: null, Time, bus: new StateKit.Caching.InMemorySessionInvalidationBus());
}
