using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using StateKit.Caching;
using StateKit.Distributed;
using StateKit.Memory;
using StateKit.Testing;

namespace StateKit.Tests.Caching;

/// <summary>Sessions per user (issue 18) through near caches: two nodes over one real in-memory store and one bus.</summary>
public sealed class NearCacheUserSessionTests : IDisposable
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
    private readonly InMemorySessionInvalidationBus _bus = new();
    private readonly List<NearCacheSessionStore> _nodes = [];
    private InMemorySessionStore _shared;

    public NearCacheUserSessionTests()
    {
        _shared = new InMemorySessionStore(new InMemorySessionStoreOptions(), _time);
    }

    public void Dispose()
    {
        foreach (var node in _nodes)
        {
            node.Dispose();
        }
    }

    private NearCacheSessionStore Node()
    {
        var node = new NearCacheSessionStore(_shared, new NearCacheOptions { TimeToLive = TimeSpan.FromSeconds(30) }, _bus, null, _time);
        _nodes.Add(node);
        return node;
    }

    /// <summary>The ways an app signs a user in: each reaches the store's limit by another path.</summary>
    public enum SignIn
    {
        NewSession,
        BindTheAnonymousSession,
        BindAndRotate,
    }

    private static async Task<string> SignInAsync(ISessionStore store, string userId, string cart, SignIn how = SignIn.NewSession)
    {
        string? ticket = null;
        if (how != SignIn.NewSession)
        {
            var anonymous = store.Open(null);
            anonymous.SetBytes("cart", Encoding.UTF8.GetBytes(cart));
            ticket = (await anonymous.CommitAsync()).Ticket!;
        }

        var session = store.Open(ticket);
        await session.LoadAsync();
        session.SetBytes("cart", Encoding.UTF8.GetBytes(cart));
        session.BindUser(userId);
        if (how == SignIn.BindAndRotate)
        {
            session.RotateId();
        }

        var result = await session.CommitAsync();
        Assert.Equal(SessionCommitOutcome.Committed, result.Outcome);
        return result.Ticket ?? ticket!;
    }

    private static async Task<string?> ReadAsync(ISessionStore store, string ticket)
    {
        var snapshot = await store.LoadAsync(ticket);
        return snapshot is not null && snapshot.Values.TryGetValue("cart", out var v) ? Encoding.UTF8.GetString(v.Span) : null;
    }

    [Fact]
    public async Task RevokeUserSession_OnANodeThatNeverLoadedIt_NoNodeServesItsCachedCopy()
    {
        var a = Node();
        var b = Node();
        var c = Node();
        var phone = await SignInAsync(a, "ana", "apple");
        var laptop = await SignInAsync(a, "ana", "pear");
        Assert.Equal("apple", await ReadAsync(a, phone)); // cached on A and B
        Assert.Equal("apple", await ReadAsync(b, phone));
        Assert.Equal("pear", await ReadAsync(a, laptop));
        Assert.Equal((2, 1), (a.Count, b.Count));

        // C never loaded the phone's session: it knows only the public id the listing showed.
        var listed = (await c.ListUserSessionsAsync("ana")).Sessions.Select(s => s.PublicId).ToArray();
        Assert.Contains(SessionIds.ToPublicId(phone), listed);
        Assert.True(await c.RevokeUserSessionAsync("ana", SessionIds.ToPublicId(phone)));

        Assert.Equal((1, 0), (a.Count, b.Count)); // dropped on every node; the laptop's copy stays
        Assert.Null(await a.LoadAsync(phone));
        Assert.Null(await b.LoadAsync(phone));
        Assert.Equal("pear", await ReadAsync(a, laptop));
    }

    [Fact]
    public async Task RevokeUserSession_WhileAnotherNodesLoadOfItIsInFlight_ThatNodeDoesNotCacheWhatItRead()
    {
        var held = new HeldLoadStore(_shared);
        using var a = new NearCacheSessionStore(held, new NearCacheOptions(), _bus, null, _time);
        var b = Node();
        var phone = await SignInAsync(b, "ana", "apple");

        // A read the live session from the store; the revocation arrives before its load returns.
        var loading = a.LoadAsync(phone).AsTask();
        await held.Read.Task.WaitAsync(TimeSpan.FromSeconds(10), TimeProvider.System);
        Assert.True(await b.RevokeUserSessionAsync("ana", SessionIds.ToPublicId(phone)));
        held.Release.TrySetResult();
        Assert.NotNull(await loading); // that request saw it: it read before the end

        Assert.Equal(0, a.Count);
        Assert.Null(await a.LoadAsync(phone));
    }

    [Fact]
    public async Task RevokeUserSession_PublicIdOfAnotherUsersSession_EndsNothingAndDropsNothing()
    {
        var a = Node();
        var b = Node();
        var bobs = await SignInAsync(a, "bob", "apple");
        Assert.Equal("apple", await ReadAsync(b, bobs));

        Assert.False(await a.RevokeUserSessionAsync("ana", SessionIds.ToPublicId(bobs)));

        Assert.Equal(1, b.Count);
        Assert.Equal("apple", await ReadAsync(b, bobs));
        Assert.Equal("apple", await ReadAsync(_shared, bobs));
    }

    [Fact]
    public async Task RevokeUserSession_ThisNodesOwnCopy_IsDroppedEvenWithoutABus()
    {
        using var alone = new NearCacheSessionStore(_shared, new NearCacheOptions(), bus: null, probe: null, _time);
        var phone = await SignInAsync(alone, "ana", "apple");
        Assert.Equal("apple", await ReadAsync(alone, phone));

        Assert.True(await alone.RevokeUserSessionAsync("ana", SessionIds.ToPublicId(phone)));

        Assert.Equal(0, alone.Count);
        Assert.Null(await alone.LoadAsync(phone));
    }

    [Theory]
    [InlineData(SignIn.NewSession)]
    [InlineData(SignIn.BindTheAnonymousSession)]
    [InlineData(SignIn.BindAndRotate)]
    public async Task SignInPastTheLimit_SessionTheStoreSignsOut_IsServedByNoNode(SignIn how)
    {
        _shared = new InMemorySessionStore(new InMemorySessionStoreOptions { MaxSessionsPerUser = 1 }, _time);
        var a = Node();
        var b = Node();
        var phone = await SignInAsync(a, "ana", "apple");
        Assert.Equal("apple", await ReadAsync(a, phone));
        Assert.Equal("apple", await ReadAsync(b, phone));

        _time.Advance(TimeSpan.FromSeconds(1));
        var laptop = await SignInAsync(b, "ana", "pear", how); // the store signs the phone out to make room

        Assert.Null(await _shared.LoadAsync(phone));
        Assert.Null(await a.LoadAsync(phone));
        Assert.Null(await b.LoadAsync(phone));
        Assert.Equal("pear", await ReadAsync(a, laptop));
    }

    [Fact]
    public async Task Capabilities_InnerStoreThatCannotList_SayNoAndListingFailsTyped()
    {
        var cache = new MemoryDistributedCache(Options.Create(new MemoryDistributedCacheOptions()));
        using var node = new NearCacheSessionStore(new DistributedCacheSessionStore(cache, new DistributedCacheSessionStoreOptions()), new NearCacheOptions());

        Assert.False(node.Capabilities.ListsUserSessions);
        await Assert.ThrowsAsync<NotSupportedException>(async () => await node.ListUserSessionsAsync("ana"));
        await Assert.ThrowsAsync<NotSupportedException>(async () => await node.RevokeUserSessionAsync("ana", new string('0', 32)));
    }
}
