using System;
using System.Threading.Tasks;
using StateKit.Sticky;
using StateKit.Testing;
using static StateKit.Tests.Sticky.StickyTestKit;

namespace StateKit.Tests.Sticky;

/// <summary>The listing contract on a sticky node whose backup keeps the user index (a real in-memory store).</summary>
public sealed class StickyUserSessionListerTests : UserSessionListerContract, IAsyncDisposable
{
    private ListingBackup? _backup;

    // Every read queues a refresh of the backup copy, and a listing writes this node's queued ones first: the listed
    // last-active time is then exact for this node's sessions, as the contract asks.
    protected override ISessionStore CreateStore() => new StickySessionStore(
        Options("a", o => o.BackupRefreshInterval = TimeSpan.Zero),
        _backup = ListingBackup.Create(Time),
        Time);

    protected override Task<int> IndexedCountAsync(string userId) => Task.FromResult(_backup!.Inner.IndexedCountOf(userId));

    public async ValueTask DisposeAsync() => await ((StickySessionStore)Store).DisposeAsync();
}

/// <summary>The limit contract on a sticky node: the backup's own MaxSessionsPerUser judges, and no node serves what it ends.</summary>
public sealed class StickyUserSessionLimitTests : UserSessionLimitContract, IAsyncDisposable
{
    private StickySessionStore? _store;

    protected override ISessionStore CreateStore(UserSessionLimitPolicy policy) => _store = new StickySessionStore(
        Options("a", o => o.BackupRefreshInterval = TimeSpan.Zero),
        ListingBackup.Create(Time, Limit, policy),
        Time);

    public async ValueTask DisposeAsync()
    {
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }
    }
}
