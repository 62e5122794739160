using System;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Time.Testing;
using StateKit.Caching;
using StateKit.Memory;
using StateKit.Testing;

namespace StateKit.Tests.Caching;

public sealed class NearCacheSessionStoreTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
    private readonly InMemorySessionStore _shared;
    private readonly CountingSessionStore _counted;
    private readonly InMemorySessionInvalidationBus _bus = new();

    public NearCacheSessionStoreTests()
    {
        _shared = new InMemorySessionStore(new InMemorySessionStoreOptions(), _time);
        _counted = new CountingSessionStore(_shared);
    }

    private NearCacheSessionStore Node(ISessionInvalidationBus? bus = null, ISessionVersionProbe? probe = null)
        => new(_counted, new NearCacheOptions { TimeToLive = TimeSpan.FromSeconds(30) }, bus, probe, _time);

    private async Task<string> SeedAsync(string value)
    {
        var session = _shared.Open(null);
        session.SetBytes("cart", Encoding.UTF8.GetBytes(value));
        return (await session.CommitAsync()).Ticket!;
    }

    private static async Task<string?> ReadAsync(NearCacheSessionStore store, string ticket)
    {
        var snapshot = await store.LoadAsync(ticket);
        return snapshot is not null && snapshot.Values.TryGetValue("cart", out var v) ? Encoding.UTF8.GetString(v.Span) : null;
    }

    private static async Task WriteAsync(ISessionStore store, string ticket, string value)
    {
        var session = store.Open(ticket);
        session.SetBytes("cart", Encoding.UTF8.GetBytes(value));
        await session.CommitAsync();
    }

    [Fact]
    public async Task Load_Hit_ReturnsTheSameSnapshotInstanceWithoutTouchingTheStore()
    {
        using var node = Node(_bus);
        var ticket = await SeedAsync("apple");

        var first = await node.LoadAsync(ticket);
        var second = await node.LoadAsync(ticket);

        Assert.Same(first, second); // already materialized: no copy, no deserialization
        Assert.Equal(1, _counted.Loads);
    }

    [Fact]
    public async Task TwoNodes_CommitOnA_IsSeenByBsNextLoad()
    {
        using var a = Node(_bus);
        using var b = Node(_bus);
        var ticket = await SeedAsync("apple");
        Assert.Equal("apple", await ReadAsync(b, ticket)); // cached on B

        await WriteAsync(a, ticket, "pear");

        Assert.Equal("pear", await ReadAsync(b, ticket));
        Assert.Equal("pear", await ReadAsync(a, ticket));
    }

    [Fact]
    public async Task Reconnect_AfterMissedMessages_FlushesEverything()
    {
        using var node = Node(_bus);
        var ticket = await SeedAsync("apple");
        Assert.Equal("apple", await ReadAsync(node, ticket));

        await WriteAsync(_shared, ticket, "pear"); // committed while the bus was down: no message
        Assert.Equal("apple", await ReadAsync(node, ticket)); // what a lost message costs, until...

        _bus.Reconnected();

        Assert.Equal(0, node.Count);
        Assert.Equal("pear", await ReadAsync(node, ticket));
    }

    [Fact]
    public async Task Load_AfterTimeToLive_GoesBackToTheStore()
    {
        using var node = Node();
        var ticket = await SeedAsync("apple");
        await node.LoadAsync(ticket);

        _time.Advance(TimeSpan.FromSeconds(30));
        await node.LoadAsync(ticket);

        Assert.Equal(2, _counted.Loads);
    }

    [Fact]
    public async Task VersionProbe_WithoutBus_DetectsACommitMadeElsewhere()
    {
        var probe = new LoadingVersionProbe(_shared);
        using var node = Node(probe: probe);
        var ticket = await SeedAsync("apple");
        var first = await node.LoadAsync(ticket);
        Assert.Same(first, await node.LoadAsync(ticket)); // version unchanged: a hit

        await WriteAsync(_shared, ticket, "pear");

        Assert.Equal("pear", await ReadAsync(node, ticket));
        Assert.Equal(2, probe.Probes); // one per hit; the first load was a miss
    }

    [Fact]
    public async Task Revoke_OnOneNode_IsNotServedByAnother()
    {
        using var a = Node(_bus);
        using var b = Node(_bus);
        var ticket = await SeedAsync("apple");
        await ReadAsync(b, ticket);

        var session = a.Open(ticket);
        await session.LoadAsync();
        session.Revoke();
        await session.CommitAsync();

        Assert.Null(await b.LoadAsync(ticket));
    }

    /// <summary>A version probe over a real store, standing in for the one-round-trip probe a Redis store would offer.</summary>
    private sealed class LoadingVersionProbe(ISessionStore store) : ISessionVersionProbe
    {
        private int _probes;

        public int Probes => _probes;

        public async ValueTask<long?> GetVersionAsync(string ticket, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _probes);
            return (await store.LoadAsync(ticket, cancellationToken))?.Version;
        }
    }
}
