using System;
using System.Threading.Tasks;
using Microsoft.Extensions.Time.Testing;
using StateKit.Memory;

namespace StateKit.Tests.Memory;

/// <summary>Issue 18: a sign-in past MaxSessionsPerUser names in its result the sessions it signed out (for near caches).</summary>
public sealed class InMemorySignedOutSessionIdsTests
{
    [Fact]
    public async Task SignInPastTheLimit_ResultNamesExactlyTheSessionsSignedOut()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
        var store = new InMemorySessionStore(new InMemorySessionStoreOptions { MaxSessionsPerUser = 2 }, time);
        var first = await SignInAsync(store);
        time.Advance(TimeSpan.FromSeconds(1));
        var second = await SignInAsync(store);
        time.Advance(TimeSpan.FromSeconds(1));

        var third = await SignInAsync(store);

        Assert.Empty(first.SignedOutSessionIds);
        Assert.Empty(second.SignedOutSessionIds);
        Assert.Equal([first.SessionId!], third.SignedOutSessionIds);
        Assert.Null(await store.LoadAsync(first.Ticket!));
    }

    private static async Task<SessionCommitResult> SignInAsync(ISessionStore store)
    {
        var session = store.Open(null);
        session.SetBytes("n", [1]);
        session.BindUser("ana");
        return await session.CommitAsync();
    }
}
