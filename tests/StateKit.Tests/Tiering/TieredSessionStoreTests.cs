using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using StateKit.ClientSide;
using StateKit.Distributed;
using StateKit.Memory;
using StateKit.Resilience;
using StateKit.Testing;
using StateKit.Tiering;

namespace StateKit.Tests.Tiering;

public sealed class TieredSessionStoreTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));

    private InMemorySessionStore Memory() => new(new InMemorySessionStoreOptions(), _time);

    private static TieredSessionStoreOptions Mapping() => new TieredSessionStoreOptions { DefaultTier = "standard" }
        .MapKey("cart", "critical")
        .MapKeyPrefix("ui:", "ephemeral");

    private static async Task<SessionCommitResult> SetAsync(ISessionStore store, string? ticket, params (string Key, string Value)[] values)
    {
        var session = store.Open(ticket);
        foreach (var (key, value) in values)
        {
            session.SetBytes(key, Encoding.UTF8.GetBytes(value));
        }

        return await session.CommitAsync();
    }

    private static string? Read(StateSession session, string key)
        => session.TryGetBytes(key, out var value) ? Encoding.UTF8.GetString(value.Span) : null;

    /// <summary>A server-held tier for the cart and a client-held (sealed) tier for everything else.</summary>
    private TieredSessionStore ServerAndClient()
    {
        var sealedOptions = new ClientSideSessionStoreOptions { Purpose = "tests/tiering" };
        sealedOptions.Keys.Add(ClientSide.ClientSideTestKeys.Key(1));
        return new TieredSessionStore(
            new Dictionary<string, ISessionStore> { ["server"] = Memory(), ["client"] = new ClientSideSessionStore(sealedOptions, _time) },
            new TieredSessionStoreOptions { DefaultTier = "client" }.MapKey("cart", "server"));
    }

    [Fact]
    public async Task Load_PartSwappedInFromAnotherSession_IsTreatedAsAbsent()
    {
        var store = ServerAndClient();
        var victim = await SetAsync(store, null, ("cart", "victim-cart"), ("checkout", "unpaid"));
        var attacker = await SetAsync(store, null, ("cart", "attacker-cart"), ("checkout", "paid"));
        var mixed = new Dictionary<string, string>(store.SplitTicket(victim.Ticket!)) { ["client"] = store.SplitTicket(attacker.Ticket!)["client"] };

        var session = store.Open(store.JoinTicket(mixed));
        await session.LoadAsync();

        Assert.Equal("victim-cart", Read(session, "cart"));
        Assert.Null(Read(session, "checkout"));
    }

    [Fact]
    public async Task Load_OldClientHeldPartReplayedAfterRotateId_IsTreatedAsAbsent()
    {
        var store = ServerAndClient();
        var paid = await SetAsync(store, null, ("cart", "apple"), ("checkout", "paid"));
        var oldClientPart = store.SplitTicket(paid.Ticket!)["client"];

        var session = store.Open(paid.Ticket);
        await session.LoadAsync();
        session.SetBytes("checkout", "refunded"u8);
        session.RotateId();
        await session.CommitAsync();
        var replayed = new Dictionary<string, string>(store.SplitTicket(session.Ticket!)) { ["client"] = oldClientPart };

        var loaded = store.Open(store.JoinTicket(replayed));
        await loaded.LoadAsync();

        Assert.Equal("apple", Read(loaded, "cart"));
        Assert.Null(Read(loaded, "checkout"));
        var current = store.Open(session.Ticket);
        await current.LoadAsync();
        Assert.Equal(("apple", "refunded"), (Read(current, "cart"), Read(current, "checkout")));
    }

    [Fact]
    public async Task Commit_AfterAPartWasRejected_StartsThatTierAnewInsteadOfWritingIntoTheForeignPart()
    {
        var store = ServerAndClient();
        var victim = await SetAsync(store, null, ("cart", "victim-cart"), ("note", "mine"));
        var attacker = await SetAsync(store, null, ("cart", "attacker-cart"), ("checkout", "paid"));
        var mixed = new Dictionary<string, string>(store.SplitTicket(victim.Ticket!)) { ["client"] = store.SplitTicket(attacker.Ticket!)["client"] };

        var session = store.Open(store.JoinTicket(mixed));
        await session.LoadAsync();
        session.SetBytes("theme", "dark"u8);
        await session.CommitAsync();

        var reloaded = store.Open(session.Ticket);
        await reloaded.LoadAsync();
        Assert.Equal(("victim-cart", "dark", null), (Read(reloaded, "cart"), Read(reloaded, "theme"), Read(reloaded, "checkout")));
    }

    [Fact]
    public async Task Commit_WritingTheReservedBindingKey_Throws()
    {
        var store = ServerAndClient();
        var session = store.Open(null);
        session.SetBytes(TieredSessionStore.BindingKey, new byte[16]);

        await Assert.ThrowsAsync<ArgumentException>(async () => await session.CommitAsync());
    }

    [Fact]
    public async Task Commit_OneSessionOverThreeTiers_WritesOnlyTheTiersWhoseKeysChanged()
    {
        var critical = new CountingSessionStore(Memory());
        var standard = new CountingSessionStore(Memory());
        var ephemeral = new CountingSessionStore(Memory());
        var store = new TieredSessionStore(
            new Dictionary<string, ISessionStore> { ["critical"] = critical, ["standard"] = standard, ["ephemeral"] = ephemeral },
            Mapping());
        var created = await SetAsync(store, null, ("cart", "apple"), ("name", "ana"), ("ui:theme", "dark"));
        Assert.Equal((1, 1, 1), (critical.Commits, standard.Commits, ephemeral.Commits));

        var session = store.Open(created.Ticket);
        await session.LoadAsync();
        Assert.Equal(("apple", "ana", "dark"), (Read(session, "cart"), Read(session, "name"), Read(session, "ui:theme")));
        session.SetBytes("ui:theme", "light"u8);
        var result = await session.CommitAsync();

        Assert.Equal(SessionCommitOutcome.Committed, result.Outcome);
        Assert.Equal((1, 1, 2), (critical.Commits, standard.Commits, ephemeral.Commits));
        Assert.Equal((1, 1, 1), (critical.Loads, standard.Loads, ephemeral.Loads));
        Assert.Equal(new[] { "ui:theme" }, ephemeral.LastCommit!.Upserts.Keys.ToArray());
        var reloaded = store.Open(session.Ticket);
        await reloaded.LoadAsync();
        Assert.Equal(("apple", "ana", "light"), (Read(reloaded, "cart"), Read(reloaded, "name"), Read(reloaded, "ui:theme")));
    }

    [Fact]
    public async Task Commit_UnchangedTiers_KeepTheirTicketPart()
    {
        var store = new TieredSessionStore(
            new Dictionary<string, ISessionStore> { ["critical"] = Memory(), ["standard"] = Memory(), ["ephemeral"] = Memory() },
            Mapping());
        var created = await SetAsync(store, null, ("cart", "apple"), ("name", "ana"));

        var rotated = store.Open(created.Ticket);
        rotated.SetBytes("ui:theme", "dark"u8); // a new tier joins the session
        var result = await rotated.CommitAsync();

        var before = store.SplitTicket(created.Ticket!);
        var after = store.SplitTicket(result.Ticket!);
        Assert.Equal(before["critical"], after["critical"]);
        Assert.Equal(before["standard"], after["standard"]);
        Assert.True(after.ContainsKey("ephemeral"));
    }

    [Fact]
    public async Task Load_ThreeTiers_RunConcurrently()
    {
        var slowA = new ChaosSessionStore(Memory(), _time);
        var slowB = new ChaosSessionStore(Memory(), _time);
        var store = new TieredSessionStore(
            new Dictionary<string, ISessionStore> { ["critical"] = slowA, ["standard"] = slowB, ["ephemeral"] = Memory() },
            Mapping());
        var ticket = (await SetAsync(store, null, ("cart", "apple"), ("name", "ana"), ("ui:x", "1"))).Ticket!;
        slowA.Slow(TimeSpan.FromSeconds(1));
        slowB.Slow(TimeSpan.FromSeconds(1));

        var load = store.LoadAsync(ticket).AsTask();

        // Both slow tiers are waiting at once: the load costs the slowest tier, not the sum.
        Assert.Equal((1, 1), (slowA.InFlight, slowB.InFlight));
        _time.Advance(TimeSpan.FromSeconds(1));
        var snapshot = await load;
        Assert.Equal(3, snapshot!.Values.Count);
    }

    [Fact]
    public void Capabilities_AreDerivedFromTheTiers()
    {
        var cache = new MemoryDistributedCache(Options.Create(new MemoryDistributedCacheOptions()));
        var distributed = new DistributedCacheSessionStore(cache, new DistributedCacheSessionStoreOptions { MaxPayloadBytes = 4096 }, _time);
        var memory = new InMemorySessionStore(new InMemorySessionStoreOptions { MaxPayloadBytes = 8192 }, _time);

        var store = new TieredSessionStore(
            new Dictionary<string, ISessionStore> { ["standard"] = distributed, ["ephemeral"] = memory },
            new TieredSessionStoreOptions { DefaultTier = "standard" });

        Assert.Equal(4096 - TieredSessionStore.BindingPayloadBytes, store.Capabilities.MaxPayloadBytes);
        Assert.False(store.Capabilities.SurvivesNodeLoss); // the memory tier does not
        Assert.Equal(StateLocation.Process, store.Capabilities.Location);
        Assert.Equal(distributed.Capabilities.Concurrency, store.Capabilities.Concurrency);
        Assert.Equal(distributed.Capabilities.Revocation & memory.Capabilities.Revocation, store.Capabilities.Revocation);
    }

    [Fact]
    public void SplitAndJoin_RoundTripTicketsWithSeparatorsAndEscapes()
    {
        var store = new TieredSessionStore(
            new Dictionary<string, ISessionStore> { ["critical"] = Memory(), ["standard"] = Memory(), ["ephemeral"] = Memory() },
            Mapping());
        var parts = new Dictionary<string, string> { ["standard"] = "a!b%21c=d", ["critical"] = "eyJ.x-y_z" };

        var joined = store.JoinTicket(parts)!;

        // The v1 format, byte for byte: a change here breaks every composite ticket clients hold.
        Assert.Equal("v1!critical=eyJ.x-y_z!standard=a%21b%2521c=d", joined);
        Assert.Equal(parts.OrderBy(p => p.Key), store.SplitTicket(joined).OrderBy(p => p.Key));
        Assert.Null(store.JoinTicket(new Dictionary<string, string>()));
        Assert.Throws<ArgumentException>(() => store.JoinTicket(new Dictionary<string, string> { ["nope"] = "x" }));
    }

    [Theory]
    [InlineData("v2!standard=AAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("v1!unknown=AAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("v1!standard=AA%2")]
    [InlineData("v1!standard=AA%41")]
    [InlineData("v1!standard=")]
    [InlineData("v1!standard=A!standard=B")]
    [InlineData("v1!")]
    [InlineData("v1")]
    public async Task Load_MalformedComposite_IsNoSessionAndSplitsToNothing(string ticket)
    {
        var store = new TieredSessionStore(
            new Dictionary<string, ISessionStore> { ["critical"] = Memory(), ["standard"] = Memory(), ["ephemeral"] = Memory() },
            Mapping());

        Assert.Null(await store.LoadAsync(ticket));
        Assert.Empty(store.SplitTicket(ticket));
        Assert.Equal(SessionCommitOutcome.NotFound, (await store.CommitAsync(new SessionCommit
        {
            Ticket = ticket,
            Upserts = new Dictionary<string, ReadOnlyMemory<byte>> { ["n"] = "1"u8.ToArray() },
        })).Outcome);
    }

    [Fact]
    public void TierOf_ExactBeatsLongestPrefixBeatsDefault()
    {
        var options = new TieredSessionStoreOptions { DefaultTier = "standard" }
            .MapKeyPrefix("wiz", "ephemeral")
            .MapKeyPrefix("wizard:", "critical")
            .MapKey("wizard:draft", "standard")
            .MapType<Cart>("critical");
        var store = new TieredSessionStore(
            new Dictionary<string, ISessionStore> { ["critical"] = Memory(), ["standard"] = Memory(), ["ephemeral"] = Memory() },
            options);

        Assert.Equal("critical", store.TierOf("wizard:step"));
        Assert.Equal("ephemeral", store.TierOf("wizz"));
        Assert.Equal("standard", store.TierOf("wizard:draft"));
        Assert.Equal("critical", store.TierOf(nameof(Cart)));
        Assert.Equal("standard", store.TierOf("other"));
    }

    [Fact]
    public async Task Outage_InOneTier_OnlyThatTiersPolicyApplies()
    {
        var criticalChaos = new ChaosSessionStore(Memory(), _time);
        var standardChaos = new ChaosSessionStore(Memory(), _time);
        var breaker = new ResilienceOptions { Name = "critical", Outage = OutagePolicy.FailFast };
        breaker.CircuitBreaker.MinimumThroughput = 1;
        var standardOptions = new ResilienceOptions { Name = "standard", Outage = OutagePolicy.FallbackWithJournal };
        standardOptions.CircuitBreaker.MinimumThroughput = 1;
        using var critical = new ResilientSessionStore(criticalChaos, breaker, timeProvider: _time);
        using var standard = new ResilientSessionStore(standardChaos, standardOptions, timeProvider: _time);
        var store = new TieredSessionStore(
            new Dictionary<string, ISessionStore> { ["critical"] = critical, ["standard"] = standard },
            new TieredSessionStoreOptions { DefaultTier = "standard" }.MapKey("cart", "critical"));
        var ticket = (await SetAsync(store, null, ("cart", "apple"), ("name", "ana"))).Ticket!;
        standardChaos.Fail();
        await Assert.ThrowsAnyAsync<SessionStoreUnavailableException>(async () => await store.LoadAsync(ticket));
        Assert.Equal(CircuitState.Open, standard.CircuitBreaker.State);

        // Standard is down: its part is served from the fallback, the cart still comes from the critical tier.
        var session = store.Open(ticket);
        await session.LoadAsync();
        Assert.Equal("apple", Read(session, "cart"));
        session.SetBytes("name", "bea"u8);
        await session.CommitAsync();
        Assert.Equal(1, standard.JournalDepth);

        // Critical is down too: a cart write fails typed; nothing claims success.
        criticalChaos.Fail();
        var cart = store.Open(session.Ticket);
        cart.SetBytes("cart", "pear"u8);
        await Assert.ThrowsAnyAsync<SessionStoreUnavailableException>(async () => await cart.CommitAsync());
        Assert.True(cart.HasChanges);
    }

    [Fact]
    public void Constructor_InvalidMapping_ListsEveryProblem()
    {
        var options = new TieredSessionStoreOptions { DefaultTier = "missing" }.MapKey("cart", "gold").MapKeyPrefix("x", "silver");

        var error = Assert.Throws<OptionsValidationException>(() => new TieredSessionStore(
            new Dictionary<string, ISessionStore> { ["std"] = Memory(), ["bad name"] = Memory() },
            options));

        Assert.Equal(4, error.Failures.Count());
    }
}
