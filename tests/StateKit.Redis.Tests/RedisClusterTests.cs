using System.Linq;
using System.Threading.Tasks;
using StackExchange.Redis;
using StateKit.Redis.Tests.Servers;
using StateKit.Redis.Testing;
using StateKit.Testing;

namespace StateKit.Redis.Tests;

/// <summary>Rotation, sign-out-everywhere and concurrency where every session lives in its own slot of a 3-master cluster.</summary>
[Collection(RedisClusterGroup.Name)]
public sealed class RedisClusterTests(RedisClusterFixture cluster)
{
    private readonly string _prefix = RedisFixture.UniquePrefix("cluster");

    [ClusterFact]
    public async Task RotateId_AcrossSlots_KeepsDataKillsOldIdAndMovesTheIndexEntry()
    {
        var store = CreateStore();
        var session = store.Open(null);
        session.Set("cart", 7, ContractJsonContext.Default.Int32);
        session.BindUser("ana");
        await session.CommitAsync();
        var oldId = session.Ticket!;

        session.RotateId();
        var result = await session.CommitAsync();

        Assert.Equal(SessionCommitOutcome.Committed, result.Outcome);
        var newId = result.Ticket!;
        Assert.NotEqual(cluster.Redis.HashSlot(SessionKey(oldId)), cluster.Redis.HashSlot(SessionKey(newId)));
        Assert.Null(await store.LoadAsync(oldId));
        var loaded = store.Open(newId);
        Assert.Equal(7, await loaded.GetAsync("cart", ContractJsonContext.Default.Int32));
        Assert.Equal("ana", loaded.Loaded!.UserId);
        var members = (await cluster.Redis.GetDatabase().SetMembersAsync($"{_prefix}u:{{ana}}")).Select(m => (string)m!).ToArray();
        Assert.Equal([newId], members);
    }

    [ClusterFact]
    public async Task RevokeUserAsync_SessionsInManySlots_AllRevoked()
    {
        var store = CreateStore();
        var tickets = new string[12];
        for (var i = 0; i < tickets.Length; i++)
        {
            var session = store.Open(null);
            session.Set("n", i, ContractJsonContext.Default.Int32);
            session.BindUser("zoe");
            await session.CommitAsync();
            tickets[i] = session.Ticket!;
        }

        var slots = tickets.Select(t => cluster.Redis.HashSlot(SessionKey(t))).Distinct().Count();
        Assert.True(slots >= 2, "the sessions should live in several slots");

        Assert.Equal(tickets.Length, await store.RevokeUserAsync("zoe"));

        foreach (var ticket in tickets)
        {
            Assert.Null(await store.LoadAsync(ticket));
        }

        Assert.False(await cluster.Redis.GetDatabase().KeyExistsAsync($"{_prefix}u:{{zoe}}"));
    }

    [ClusterFact]
    public async Task UpdateAsync_100ConcurrentIncrements_EndAt100()
    {
        var store = CreateStore();
        var first = store.Open(null);
        first.Set("counter", 0, ContractJsonContext.Default.Int32);
        await first.CommitAsync();
        var ticket = first.Ticket!;

        await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => Task.Run(async () =>
            await store.UpdateAsync(ticket, s => s.Set("counter", s.Get("counter", ContractJsonContext.Default.Int32) + 1, ContractJsonContext.Default.Int32), maxAttempts: 1_000))));

        var session = store.Open(ticket);
        Assert.Equal(100, await session.GetAsync("counter", ContractJsonContext.Default.Int32));
        Assert.Equal(101, session.Loaded!.Version);
    }

    private RedisKey SessionKey(string id) => $"{_prefix}s:{{{id}}}";

    private RedisSessionStore CreateStore() => new(cluster.Redis, new RedisSessionStoreOptions { KeyPrefix = _prefix });
}
