using System;
using System.Threading.Tasks;
using Microsoft.Extensions.Time.Testing;
using StateKit.Redis.Testing;
using StateKit.Testing;

namespace StateKit.Redis.Tests;

/// <summary>Issue 18: a sign-in past MaxSessionsPerUser on redis-server names in its result the sessions it signed out.</summary>
public sealed class RedisSignedOutSessionIdsTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    [Fact]
    public async Task SignInPastTheLimit_ResultNamesExactlyTheSessionsSignedOut()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = new RedisSessionStore(redis.Redis, new RedisSessionStoreOptions { KeyPrefix = RedisFixture.UniquePrefix("signed-out"), MaxSessionsPerUser = 2 }, time);
        var first = await SignInAsync(store);
        time.Advance(UserSessionLimitContract.ActivityResolution);
        var second = await SignInAsync(store);
        time.Advance(UserSessionLimitContract.ActivityResolution);
        Assert.NotNull(await store.LoadAsync(first.Ticket!)); // the second is now the least recently active

        time.Advance(TimeSpan.FromSeconds(1));
        var third = await SignInAsync(store);

        Assert.Empty(first.SignedOutSessionIds);
        Assert.Empty(second.SignedOutSessionIds);
        Assert.Equal([second.SessionId!], third.SignedOutSessionIds);
        Assert.Null(await store.LoadAsync(second.Ticket!));
    }

    private static async Task<SessionCommitResult> SignInAsync(ISessionStore store)
    {
        var session = store.Open(null);
        session.SetBytes("n", [1]);
        session.BindUser("ana");
        return await session.CommitAsync();
    }
}
