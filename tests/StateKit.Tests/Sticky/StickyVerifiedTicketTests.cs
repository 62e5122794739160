using System;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.Extensions.Time.Testing;
using StateKit.Sticky;
using StateKit.Testing;
using static StateKit.Tests.Sticky.StickyTestKit;

namespace StateKit.Tests.Sticky;

/// <summary>
/// A ticket's HMAC is checked once per ticket string and store: by the load of a request (its commit reuses the proof), or
/// by an earlier request (remembered). None of it may let through what a full verification would reject.
/// </summary>
public sealed class StickyVerifiedTicketTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));

    private StickySessionStore Node(string node = "node-a", Action<StickySessionStoreOptions>? configure = null)
        => new(Options(node, configure), null, _time);

    // A ticket for the session this store holds, signed afresh (not by the store): the store has not seen this string.
    private async Task<string> ForeignSignedAsync(StickySessionStore store, string ticket, StickyKey? key = null)
    {
        var id = (await store.LoadAsync(ticket))!.Id;
        _time.Advance(TimeSpan.FromSeconds(1));
        return StickyTicket.Issue(key ?? Key1, store.NodeId, id, _time.GetUtcNow());
    }

    [Fact]
    public async Task Request_LoadThenCommit_VerifiesTheTicketOnce()
    {
        var store = Node();
        store.VerifiedTicketCapacity = 0;
        var ticket = await ForeignSignedAsync(store, await CreateAsync(store, 1));
        var before = store.MacVerifications;

        var session = store.Open(ticket);
        await session.LoadAsync();
        session.Set("cart", 2, ContractJsonContext.Default.Int32);
        var result = await session.CommitAsync();

        Assert.Equal(SessionCommitOutcome.Committed, result.Outcome);
        Assert.Equal(1, store.MacVerifications - before);
    }

    [Fact]
    public async Task Requests_SameTicket_VerifiedOnceThenRemembered()
    {
        var store = Node();
        var ticket = await ForeignSignedAsync(store, await CreateAsync(store, 1));
        var before = store.MacVerifications;

        for (var i = 0; i < 3; i++)
        {
            ticket = await SetAsync(store, ticket, i);
        }

        Assert.Equal(1, store.MacVerifications - before);
        Assert.Equal(2, (await ReadAsync(store, ticket)).Cart);
    }

    [Fact]
    public async Task Create_IssuedTicket_IsRememberedSoTheNextRequestSkipsTheMac()
    {
        var store = Node();
        var ticket = await CreateAsync(store, 1);
        var before = store.MacVerifications;

        Assert.Equal(1, (await ReadAsync(store, ticket)).Cart);
        Assert.Equal(0, store.MacVerifications - before);
    }

    [Fact]
    public async Task Load_AnyCharacterChangedAfterTheGoodTicketWasRemembered_IsNoSession()
    {
        var store = Node();
        var ticket = await CreateAsync(store, 1);
        Assert.NotNull(await store.LoadAsync(ticket));

        for (var i = 0; i < ticket.Length; i++)
        {
            var chars = ticket.ToCharArray();
            chars[i] = chars[i] == 'x' ? 'y' : 'x';
            Assert.Null(await store.LoadAsync(new string(chars)));
        }

        Assert.Null(await store.LoadAsync(ticket + "A"));
        Assert.Null(await store.LoadAsync(ticket[..^1]));
        Assert.NotNull(await store.LoadAsync(ticket));
    }

    [Fact]
    public async Task Commit_TamperedTicketOnTheLoadedSnapshot_IsNotFound()
    {
        var store = Node();
        var ticket = await CreateAsync(store, 1);
        var loaded = await store.LoadAsync(ticket);
        var tampered = ticket[..^1] + (ticket[^1] == 'A' ? 'B' : 'A');

        var result = await store.CommitAsync(new SessionCommit { Ticket = tampered, Base = loaded, Upserts = Cart(2) });

        Assert.Equal(SessionCommitOutcome.NotFound, result.Outcome);
        Assert.Equal(1, (await ReadAsync(store, ticket)).Cart);
    }

    [Fact]
    public async Task Commit_SnapshotLoadedByAnotherStore_VerifiesUnderThisStoresRing()
    {
        // The same node id and session id, but this store's ring lacks the key that signed the ticket.
        var signer = Node();
        var ticket = await CreateAsync(signer, 1);
        var loaded = await signer.LoadAsync(ticket);
        var other = Node(configure: o => o.Keys[0] = Key2);

        var result = await other.CommitAsync(new SessionCommit { Ticket = ticket, Base = loaded, Upserts = Cart(2) });

        Assert.Equal(SessionCommitOutcome.NotFound, result.Outcome);
        Assert.Null(await other.LoadAsync(ticket));
        Assert.Equal(0, other.VerifiedTicketCount);
    }

    [Fact]
    public async Task Load_RememberedTicketOnceItsKeyLeftTheRing_IsNoSessionInTheStoreWithoutIt()
    {
        // Rotation: a node restarted with the old key removed rejects what a node with the old ring remembered.
        var old = Node(configure: o => o.Keys.Add(Key2));
        var ticket = StickyTicket.Issue(Key2, "node-a", SessionIds.NewId(), _time.GetUtcNow());
        Assert.Null(await old.LoadAsync(ticket));
        Assert.Equal(1, old.VerifiedTicketCount);

        var rotated = Node();
        Assert.Null(await rotated.LoadAsync(ticket));
        Assert.Equal(0, rotated.VerifiedTicketCount);
    }

    [Fact]
    public async Task Load_RememberedTicketPastTheAbsoluteLifetime_IsNoSessionAndForgotten()
    {
        var store = Node();
        var ticket = await CreateAsync(store, 1);
        Assert.NotNull(await store.LoadAsync(ticket));
        Assert.Equal(1, store.VerifiedTicketCount);

        _time.Advance(SessionStoreContract.AbsoluteLifetime + TimeSpan.FromSeconds(1));

        Assert.Null(await store.LoadAsync(ticket));
        Assert.Equal(0, store.VerifiedTicketCount);
    }

    [Fact]
    public async Task Load_RememberedTicketAfterRevoke_IsNoSession()
    {
        // Revocation by id needs a bus (or a backup) to reach every node; one node on an in-process bus here.
        var store = new StickySessionStore(Options("node-a"), null, _time, bus: new StateKit.Caching.InMemorySessionInvalidationBus());
        var ticket = await CreateAsync(store, 1);
        var id = (await store.LoadAsync(ticket))!.Id;

        Assert.True(await store.RevokeAsync(id));

        Assert.Null(await store.LoadAsync(ticket));
        var commit = await store.CommitAsync(new SessionCommit { Ticket = ticket, Upserts = Cart(2) });
        Assert.Equal(SessionCommitOutcome.NotFound, commit.Outcome);
    }

    [Fact]
    public async Task Load_RememberedTicketNamingAnotherNode_IsStillJudgedAsForeign()
    {
        // A ticket of node-b remembered by node-a: without a backup it is still a lost session, never node-a's.
        var store = Node();
        var ticket = StickyTicket.Issue(Key1, "node-b", SessionIds.NewId(), _time.GetUtcNow());

        Assert.Null(await store.LoadAsync(ticket));
        Assert.Null(await store.LoadAsync(ticket));
        Assert.Equal(1, store.VerifiedTicketCount);
    }

    [Fact]
    public async Task Remembered_MoreTicketsThanTheCapacity_StaysBounded()
    {
        var store = Node();
        store.VerifiedTicketCapacity = 8;
        var tickets = Enumerable.Range(0, 50).Select(_ => StickyTicket.Issue(Key1, "node-a", SessionIds.NewId(), _time.GetUtcNow())).ToArray();

        foreach (var ticket in tickets)
        {
            await store.LoadAsync(ticket);
            Assert.InRange(store.VerifiedTicketCount, 1, 8);
        }

        Assert.Equal(50, store.MacVerifications);
    }

    [Fact]
    public async Task Remembered_ConcurrentRequests_NeverAcceptATamperedTicketAndStayBounded()
    {
        var store = Node();
        store.VerifiedTicketCapacity = 16;
        var tickets = new string[64];
        for (var i = 0; i < tickets.Length; i++)
        {
            tickets[i] = await CreateAsync(store, i);
        }

        await Parallel.ForEachAsync(Enumerable.Range(0, 4000), async (n, ct) =>
        {
            var i = n % tickets.Length;
            if (n % 3 == 0)
            {
                var tampered = tickets[i][..^2] + (tickets[i][^2] == 'A' ? "BA" : "AA");
                Assert.Null(await store.LoadAsync(tampered, ct));
            }
            else
            {
                Assert.Equal(i, (await ReadAsync(store, tickets[i])).Cart);
            }
        });

        Assert.InRange(store.VerifiedTicketCount, 0, 16 + Environment.ProcessorCount);
    }

    private static System.Collections.Generic.Dictionary<string, ReadOnlyMemory<byte>> Cart(int value)
        => new() { ["cart"] = System.Text.Encoding.UTF8.GetBytes(value.ToString(System.Globalization.CultureInfo.InvariantCulture)) };
}
