using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;
using StateKit.Redis.Testing;
using StateKit.Testing;

namespace StateKit.Redis.Tests;

/// <summary>Issue 18: what only the Redis listing has, a user index too large for one <c>SSCAN</c> batch.</summary>
public sealed class RedisUserSessionListingTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
    private readonly string _prefix = RedisFixture.UniquePrefix("listing");

    [Fact]
    public async Task SignIn_IntoAnIndexOfHundredsOfDeadIds_ChecksABoundedSampleOnly()
    {
        // A user with thousands of index entries must not make each sign-in check every one of them.
        var store = new RedisSessionStore(redis.Redis, new RedisSessionStoreOptions { KeyPrefix = _prefix }, _time);
        var userKey = new RedisKeys(_prefix).User("bob");
        var db = redis.Redis.GetDatabase();
        await db.SetAddAsync(userKey, Enumerable.Range(0, 400).Select(_ => (RedisValue)SessionIds.NewId()).ToArray());

        var session = store.Open(null);
        session.Set("n", 1, ContractJsonContext.Default.Int32);
        session.BindUser("bob");
        await session.CommitAsync();

        // 401 ids; a sample of 17 at random, the new one (leased) possibly among them: 16 or 17 dead ids pruned.
        Assert.InRange(await db.SetLengthAsync(userKey), 401 - RedisDefaults.IndexPruneSample, 401 - RedisDefaults.IndexPruneSample + 1);
        Assert.True(await db.SetContainsAsync(userKey, session.BearerId));
    }

    [Fact]
    public async Task List_IndexOfHundredsOfDeadIds_PagesByCursorWithinThePageSizeAndPrunesThemAll()
    {
        var store = new RedisSessionStore(redis.Redis, new RedisSessionStoreOptions { KeyPrefix = _prefix }, _time);
        var live = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            var session = store.Open(null);
            session.Set("n", i, ContractJsonContext.Default.Int32);
            session.BindUser("ana");
            live.Add((await session.CommitAsync()).Ticket!);
        }

        // 400 ids whose session never existed (signed-in sessions Redis has since expired): past the size at which Redis
        // stops returning a small set whole, so the listing must follow the SSCAN cursor.
        var userKey = new RedisKeys(_prefix).User("ana");
        var dead = Enumerable.Range(0, 400).Select(_ => (RedisValue)SessionIds.NewId()).ToArray();
        await redis.Redis.GetDatabase().SetAddAsync(userKey, dead);

        var seen = new List<string>();
        string? token = null;
        var calls = 0;
        do
        {
            var page = await store.ListUserSessionsAsync("ana", token, pageSize: 10);
            Assert.InRange(page.Sessions.Count, 0, 10);
            seen.AddRange(page.Sessions.Select(s => s.PublicId));
            token = page.ContinuationToken;
            Assert.True(++calls < 400, "the listing never ends");
        }
        while (token is not null);

        Assert.True(calls > 1, "one call returned the whole index");
        // The prune shrinks the set while it is scanned, and SSCAN may then return an entry twice (ISessionLister says so):
        // every live session is listed, no dead one is.
        Assert.Equal(live.Select(SessionIds.ToPublicId).Order(StringComparer.Ordinal), seen.Distinct().Order(StringComparer.Ordinal));
        Assert.Equal(5, await redis.Redis.GetDatabase().SetLengthAsync(userKey));
    }

    [Fact]
    public async Task Rotation_AfterSignIn_KeepsTheSignInMetadataUnderTheNewId()
    {
        var store = new RedisSessionStore(redis.Redis, new RedisSessionStoreOptions { KeyPrefix = _prefix }, _time);
        var session = store.Open(null);
        session.Set("n", 1, ContractJsonContext.Default.Int32);
        session.BindUser("ana", new Dictionary<string, string> { ["ua"] = "Phone" });
        var ticket = (await session.CommitAsync()).Ticket!;

        var rotated = store.Open(ticket);
        rotated.RotateId();
        var newTicket = (await rotated.CommitAsync()).Ticket!;

        var listed = Assert.Single((await store.ListUserSessionsAsync("ana")).Sessions);
        Assert.Equal(SessionIds.ToPublicId(newTicket), listed.PublicId);
        Assert.Equal("Phone", listed.Metadata["ua"]);
    }
}
