using System;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.Extensions.Time.Testing;
using StateKit.Memory;
using StateKit.Testing;

namespace StateKit.Tests;

public sealed class StateSessionTests
{
    private readonly CountingSessionStore _store = new(new InMemorySessionStore(new InMemorySessionStoreOptions(), new FakeTimeProvider()));

    [Fact]
    public async Task CommitRequiringTheBaseVersion_AfterAConcurrentCommit_Conflicts_AndDiscardChangesStartsAgainFromTheStore()
    {
        var seed = _store.Open(null);
        seed.SetBytes("n", "1"u8);
        var ticket = (await seed.CommitAsync()).Ticket!;
        var session = _store.Open(ticket);
        await session.LoadAsync();
        session.SetBytes("n", "2"u8);
        var other = _store.Open(ticket);
        other.SetBytes("n", "5"u8);
        await other.CommitAsync();

        var conflict = await session.CommitAsync(SessionCommitMode.RequireBaseVersion, default);
        var keptTheChange = session.HasChanges;
        session.DiscardChanges();
        await session.LoadAsync();
        Assert.True(session.TryGetBytes("n", out var reloaded));
        session.SetBytes("n", "6"u8);
        var retried = await session.CommitAsync(SessionCommitMode.RequireBaseVersion, default);

        Assert.Equal(SessionCommitOutcome.Conflict, conflict.Outcome);
        Assert.True(keptTheChange);
        Assert.Equal("5", System.Text.Encoding.UTF8.GetString(reloaded.Span));
        Assert.Equal(SessionCommitOutcome.Committed, retried.Outcome);
        Assert.Equal(ticket, session.Ticket);
    }

    [Fact]
    public async Task Untouched_CostsNoStoreCall()
    {
        var ticket = await SeedAsync();
        var session = _store.Open(ticket);

        var result = await session.CommitAsync();

        Assert.Equal(SessionCommitOutcome.NoChange, result.Outcome);
        Assert.Equal(0, _store.Loads);
        Assert.Equal(1, _store.Commits); // the seed only
    }

    [Fact]
    public async Task ReadOnly_EveryChangeThrowsTheReason_ReadsStillWork_AndNothingIsCommitted()
    {
        var ticket = await SeedAsync();
        var session = _store.Open(ticket);
        await session.LoadAsync();
        session.MakeReadOnly("sealed for the test");

        Action[] changes =
        [
            () => session.Set("b", 2, ContractJsonContext.Default.Int32),
            () => session.SetBytes("b", [1]),
            () => session.Remove("a"),
            session.Clear,
            session.RotateId,
            session.Revoke,
            session.Refresh,
            () => session.BindUser("u1"),
        ];

        Assert.True(session.IsReadOnly);
        Assert.All(changes, change => Assert.Equal($"Session {session.Id} is read-only: sealed for the test", Assert.Throws<InvalidOperationException>(change).Message));
        Assert.Equal(1, session.Get("a", ContractJsonContext.Default.Int32));
        Assert.False(session.HasChanges);
        Assert.Equal(SessionCommitOutcome.NoChange, (await session.CommitAsync()).Outcome);
    }

    [Fact]
    public async Task ReadOnlyBeforeCommit_WhatItReadAndWroteStaysReadable_WithoutAnotherLoad()
    {
        // What the middleware does when a response starts: seal, commit, and the handler may still read what it wrote.
        var ticket = await SeedAsync();
        var session = _store.Open(ticket);
        await session.LoadAsync();
        session.Set("b", 2, ContractJsonContext.Default.Int32);
        session.Remove("a");
        session.MakeReadOnly("sealed for the test");

        Assert.Equal(SessionCommitOutcome.Committed, (await session.CommitAsync()).Outcome);

        Assert.True(session.IsLoaded);
        Assert.Equal(2, session.Get("b", ContractJsonContext.Default.Int32));
        Assert.False(session.TryGetBytes("a", out _));
        Assert.Equal(1, _store.Loads);
    }

    [Fact]
    public async Task ReadOnlyBeforeCommit_WrittenWithoutLoading_StillNeedsALoad()
    {
        // A blind write knows nothing of the keys it did not touch: no partial view may pass for the session.
        var ticket = await SeedAsync();
        var session = _store.Open(ticket);
        session.Set("b", 2, ContractJsonContext.Default.Int32);
        session.MakeReadOnly("sealed for the test");
        await session.CommitAsync();

        Assert.False(session.IsLoaded);
        Assert.Throws<InvalidOperationException>(() => session.Get("a", ContractJsonContext.Default.Int32));
        Assert.Equal(1, await session.GetAsync("a", ContractJsonContext.Default.Int32));
    }

    [Fact]
    public async Task WriteOnly_CommitsABlindDeltaWithoutLoading()
    {
        var ticket = await SeedAsync();
        var session = _store.Open(ticket);
        session.Set("b", 2, ContractJsonContext.Default.Int32);
        session.Remove("gone");

        await session.CommitAsync();

        Assert.Equal(0, _store.Loads);
        Assert.Null(_store.LastCommit!.Base);
        Assert.Equal(["b"], _store.LastCommit.Upserts.Keys);
        Assert.Equal(["gone"], _store.LastCommit.Removals);
    }

    [Fact]
    public async Task ReadThenWriteOneKey_SendsOnlyThatKey()
    {
        var ticket = await SeedAsync();
        var session = _store.Open(ticket);
        Assert.Equal(1, await session.GetAsync("a", ContractJsonContext.Default.Int32));
        Assert.Equal(1, await session.GetAsync("a", ContractJsonContext.Default.Int32));
        session.Set("b", 2, ContractJsonContext.Default.Int32);

        await session.CommitAsync();

        Assert.Equal(1, _store.Loads);
        Assert.NotNull(_store.LastCommit!.Base);
        Assert.Equal(["b"], _store.LastCommit.Upserts.Keys);
    }

    [Fact]
    public void Get_BeforeLoad_ThrowsAndSaysWhatToDo()
    {
        var session = _store.Open("AAAAAAAAAAAAAAAAAAAAAA");

        var error = Assert.Throws<InvalidOperationException>(() => session.Get("a", ContractJsonContext.Default.Int32));

        Assert.Contains("LoadAsync", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Get_OfAKeyThisRequestSet_NeedsNoLoad()
    {
        var session = _store.Open("AAAAAAAAAAAAAAAAAAAAAA");
        session.Set("a", 5, ContractJsonContext.Default.Int32);

        Assert.Equal(5, session.Get("a", ContractJsonContext.Default.Int32));
        Assert.Equal(0, _store.Loads);
    }

    [Fact]
    public async Task NoTicket_LoadsAsEmptyWithoutAStoreCall()
    {
        var session = _store.Open(null);

        Assert.Equal(0, await session.GetAsync("a", ContractJsonContext.Default.Int32));
        Assert.False(session.Exists);
        Assert.Empty(session.Keys);
        Assert.Equal(0, _store.Loads);
    }

    [Fact]
    public async Task SetThenRemove_BeforeCommit_LeavesNothingToWrite()
    {
        var session = _store.Open(null);
        session.Set("a", 1, ContractJsonContext.Default.Int32);
        session.Remove("a");

        Assert.False(session.TryGetBytes("a", out _));
        Assert.Equal(SessionCommitOutcome.NoChange, (await session.CommitAsync()).Outcome);
        Assert.Equal(0, _store.Commits);
    }

    [Fact]
    public async Task ReflectionOverloads_RoundTripWithWebDefaults()
    {
        var session = _store.Open(null);
        session.Set("cart", new Cart("ana", [new CartLine("x", 1, 2m)]), System.Text.Json.JsonSerializerOptions.Web);
        await session.CommitAsync();

        var reloaded = _store.Open(session.Ticket);
        var cart = await reloaded.GetAsync<Cart>("cart", System.Text.Json.JsonSerializerOptions.Web);

        Assert.Equal("ana", cart!.Owner);
        Assert.True(reloaded.TryGetBytes("cart", out var raw));
        Assert.Contains("\"owner\"", System.Text.Encoding.UTF8.GetString(raw.Span), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Id_IsThePublicIdOfTheBearerId_NeverTheBearerIdItself()
    {
        var ticket = await SeedAsync();
        var session = _store.Open(ticket);
        await session.LoadAsync();

        // For a server-held store the bearer id is the ticket: a credential. Id is what apps log.
        Assert.Equal(ticket, session.BearerId);
        Assert.Equal(SessionIds.ToPublicId(ticket), session.Id);
        Assert.DoesNotContain(ticket, session.Id!, StringComparison.Ordinal);

        session.RotateId();
        await session.CommitAsync();
        Assert.NotEqual(ticket, session.BearerId);
        Assert.Equal(SessionIds.ToPublicId(session.BearerId!), session.Id);
    }

    [Fact]
    public void ToPublicId_IsAFixedFunctionOfTheId_SoEveryNodeAndVersionLogsTheSameValue()
    {
        // SHA-256("StateKit public session id v1\0" + id), first 16 bytes in hex: pinned, since logs correlate on it.
        Assert.Equal("e2643aa7fbe530f21072731085faed6f", SessionIds.ToPublicId("AAAAAAAAAAAAAAAAAAAAAA"));
        Assert.False(SessionIds.IsWellFormed(SessionIds.ToPublicId(SessionIds.NewId())));
        Assert.Equal(32, SessionIds.ToPublicId(new string('x', 5_000)).Length);
    }

    [Fact]
    public async Task Commit_AfterSuccess_ClearsTrackedChangesAndKeepsId()
    {
        var session = _store.Open(null);
        session.Set("a", 1, ContractJsonContext.Default.Int32);
        var result = await session.CommitAsync();

        Assert.False(session.HasChanges);
        Assert.Equal(result.SessionId, session.BearerId);
        Assert.Equal(SessionCommitOutcome.NoChange, (await session.CommitAsync()).Outcome);
        Assert.Equal(1, await session.GetAsync("a", ContractJsonContext.Default.Int32));
    }

    [Fact]
    public async Task Keys_ReflectThisRequestsChanges()
    {
        var ticket = await SeedAsync();
        var session = _store.Open(ticket);
        await session.LoadAsync();
        session.Set("b", 2, ContractJsonContext.Default.Int32);
        session.Remove("a");

        Assert.Equal(["b"], session.Keys.ToArray());
    }

    [Fact]
    public async Task ManyWritesAndRemovals_CommitExactlyTheLastValueOfEachKey()
    {
        // Past a handful of keys the session's pending writes switch from a linear search to an index; both must agree.
        var ticket = await SeedAsync();
        var session = _store.Open(ticket);
        for (var i = 0; i < 20; i++)
        {
            session.SetBytes("k" + i, [(byte)i]);
        }

        session.SetBytes("k3", [33]);
        session.Remove("k4");
        session.Remove("k15");
        session.SetBytes("k15", [150]);
        session.Remove("k19");

        Assert.True(session.TryGetBytes("k3", out var k3));
        Assert.Equal([33], k3.ToArray());
        Assert.False(session.TryGetBytes("k4", out _));
        await session.CommitAsync();

        var upserts = _store.LastCommit!.Upserts;
        Assert.Equal(18, upserts.Count);
        Assert.Equal(["k19", "k4"], _store.LastCommit.Removals.Order(StringComparer.Ordinal));
        Assert.Equal([33], upserts["k3"].ToArray());
        Assert.Equal([150], upserts["k15"].ToArray());
        Assert.False(upserts.ContainsKey("k4"));
        Assert.Equal(upserts.Keys.Order(StringComparer.Ordinal), upserts.Select(p => p.Key).Order(StringComparer.Ordinal));

        var reloaded = _store.Open(ticket);
        await reloaded.LoadAsync();
        Assert.Equal(new[] { "a" }.Concat(Enumerable.Range(0, 19).Where(i => i != 4).Select(i => "k" + i)).Order(StringComparer.Ordinal), reloaded.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task RemovingTheFirstWrittenKey_KeepsTheOthers()
    {
        var session = _store.Open(null);
        session.SetBytes("x", [1]);
        session.SetBytes("y", [2]);
        session.SetBytes("z", [3]);
        session.Remove("x");
        session.SetBytes("y", [20]);

        Assert.False(session.TryGetBytes("x", out _));
        await session.CommitAsync();

        Assert.Equal(["y", "z"], _store.LastCommit!.Upserts.Keys);
        Assert.Equal([20], _store.LastCommit.Upserts["y"].ToArray());
        Assert.Equal([3], _store.LastCommit.Upserts["z"].ToArray());
    }

    private async Task<string> SeedAsync()
    {
        var session = _store.Open(null);
        session.Set("a", 1, ContractJsonContext.Default.Int32);
        return (await session.CommitAsync()).Ticket!;
    }
}
