using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.Extensions.Time.Testing;

namespace StateKit.Testing;

/// <summary>
/// The semantics every <see cref="ISessionStore"/> honours, run against a real instance of each store.
/// A store's test project derives one class from this and says how to build the store.
/// </summary>
public abstract class SessionStoreContract
{
    /// <summary>The idle timeout every contract store is built with.</summary>
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(20);

    /// <summary>The absolute lifetime every contract store is built with.</summary>
    public static readonly TimeSpan AbsoluteLifetime = TimeSpan.FromHours(2);

    /// <summary>The payload limit every contract store is built with.</summary>
    public const int MaxPayloadBytes = 16 * 1024;

    private ISessionStore? _store;

    /// <summary>The clock every contract store reads.</summary>
    protected FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));

    /// <summary>The store under test, built once per test.</summary>
    protected ISessionStore Store => _store ??= CreateStore();

    /// <summary>Builds the store with <see cref="IdleTimeout"/>, <see cref="AbsoluteLifetime"/>, <see cref="MaxPayloadBytes"/> and <see cref="Time"/>.</summary>
    protected abstract ISessionStore CreateStore();

    /// <summary>Moves time forward for the store (and its backend, where the backend keeps its own clock).</summary>
    protected virtual Task AdvanceAsync(TimeSpan by)
    {
        Time.Advance(by);
        return Task.CompletedTask;
    }

    /// <summary>Creates a session holding <paramref name="values"/> and returns its ticket.</summary>
    protected async Task<string> CreateSessionAsync(params (string Key, int Value)[] values)
    {
        var session = Store.Open(null);
        foreach (var (key, value) in values)
        {
            session.Set(key, value, ContractJsonContext.Default.Int32);
        }

        var result = await session.CommitAsync();
        Assert.Equal(SessionCommitOutcome.Committed, result.Outcome);
        Assert.NotNull(result.Ticket);
        return result.Ticket!;
    }

    /// <summary>Gets a value indicating whether the state lives in the ticket itself (a sealed blob, a JWT), read from the capabilities.</summary>
    protected bool ClientHeld => Store.Capabilities.Location == StateLocation.Client;

    /// <summary>Gets a value indicating whether the store can kill a ticket by its session id (server state, or a deny list).</summary>
    protected bool RevokesById => Store.Capabilities.Revocation.HasFlag(RevocationSupport.ById);

    /// <summary>
    /// Where the state lives in the ticket, a load cannot move the client's idle deadline: a commit re-seals the ticket
    /// instead. Elsewhere the load already slid it and the ticket stays the same.
    /// </summary>
    protected async Task<string> SlideAsync(string ticket)
    {
        if (!ClientHeld)
        {
            return ticket;
        }

        var session = Store.Open(ticket);
        await session.LoadAsync();
        session.Refresh();
        var result = await session.CommitAsync();
        Assert.Equal(SessionCommitOutcome.Committed, result.Outcome);
        return session.Ticket!;
    }

    /// <summary>Loads a ticket and reads one int key, or null when there is no session or key.</summary>
    protected async Task<int?> ReadIntAsync(string ticket, string key)
    {
        var session = Store.Open(ticket);
        await session.LoadAsync();
        return session.Exists && session.TryGetBytes(key, out _) ? session.Get(key, ContractJsonContext.Default.Int32) : null;
    }

    [Fact]
    public async Task Commit_NewSession_RoundTripsTypedValues()
    {
        var cart = new Cart("ana", [new CartLine("sku-1", 2, 9.99m), new CartLine("sku-ü", 1, 0.5m)]);
        var session = Store.Open(null);
        session.Set("cart", cart, ContractJsonContext.Default.Cart);
        session.Set("name", "Ana Lúcia", ContractJsonContext.Default.String);
        session.SetBytes("raw", [0, 1, 2, 255]);
        var result = await session.CommitAsync();

        var loaded = Store.Open(result.Ticket);
        var readCart = await loaded.GetAsync("cart", ContractJsonContext.Default.Cart);
        Assert.Equal(cart.Owner, readCart!.Owner);
        Assert.Equal(cart.Lines, readCart.Lines);
        Assert.Equal("Ana Lúcia", loaded.Get("name", ContractJsonContext.Default.String));
        Assert.True(loaded.TryGetBytes("raw", out var raw));
        Assert.Equal(new byte[] { 0, 1, 2, 255 }, raw.ToArray());
        Assert.False(loaded.TryGetBytes("missing", out _));
        Assert.Equal(new[] { "cart", "name", "raw" }, loaded.Keys.Order().ToArray());
    }

    [Fact]
    public async Task Commit_NewSession_StampsIdentityAndTimes()
    {
        var first = Store.Open(null);
        first.Set("n", 1, ContractJsonContext.Default.Int32);
        var result = await first.CommitAsync();
        var ticket = result.Ticket!;
        var snapshot = await Store.LoadAsync(ticket);

        // Transports bound the ticket's lifetime (a cookie's expiry) by this: it must be reported.
        Assert.Equal(Time.GetUtcNow() + AbsoluteLifetime, result.AbsoluteExpiresAt!.Value, TimeSpan.FromMilliseconds(1));

        Assert.NotNull(snapshot);
        Assert.Equal(1, snapshot!.Version);
        Assert.Equal(Time.GetUtcNow(), snapshot.CreatedAt, TimeSpan.FromMilliseconds(1));
        Assert.Equal(Time.GetUtcNow() + AbsoluteLifetime, snapshot.AbsoluteExpiresAt, TimeSpan.FromMilliseconds(1));
        Assert.Equal(IdleTimeout, snapshot.IdleTimeout);
    }

    [Fact]
    public async Task Commit_ManySessions_MintsDistinctIdsOfAtLeast128Bits()
    {
        var ids = new HashSet<string>();
        for (var i = 0; i < 200; i++)
        {
            var ticket = await CreateSessionAsync(("n", i));
            var snapshot = await Store.LoadAsync(ticket);
            Assert.True(ids.Add(snapshot!.Id));
            // 128 bits in base64url need at least 22 characters.
            Assert.True(snapshot.Id.Length >= 22, $"id '{snapshot.Id}' is too short for 128 bits");
        }
    }

    [Fact]
    public async Task Load_TwoSessions_EachTicketSeesOnlyItsOwnState()
    {
        var a = await CreateSessionAsync(("who", 1));
        var b = await CreateSessionAsync(("who", 2));

        Assert.NotEqual(a, b);
        Assert.Equal(1, await ReadIntAsync(a, "who"));
        Assert.Equal(2, await ReadIntAsync(b, "who"));
    }

    public static TheoryData<string> BadTickets => new()
    {
        string.Empty,
        " ",
        "x",
        "AAAAAAAAAAAAAAAAAAAAAA",
        "not-a-ticket-at-all-but-long-enough-to-look-like-one-0123456789",
        "../../etc/passwd",
        "{hash}tag",
        "\u0000\u0001\u0002",
        "ticket with spaces and ünïcödé",
        new string('A', 10_000),
        "eyJhbGciOiJub25lIn0.eyJzaWQiOiJ4In0.",
    };

    [Theory]
    [MemberData(nameof(BadTickets))]
    public async Task Load_GarbageTicket_IsNoSession(string ticket)
    {
        await CreateSessionAsync(("n", 1));

        var snapshot = await Store.LoadAsync(ticket);

        Assert.Null(snapshot);
    }

    [Fact]
    public async Task Load_TamperedTicket_IsNoSession()
    {
        var ticket = await CreateSessionAsync(("n", 1));
        for (var i = 0; i < ticket.Length; i += Math.Max(1, ticket.Length / 16))
        {
            var chars = ticket.ToCharArray();
            chars[i] = chars[i] == 'A' ? 'B' : 'A';
            Assert.Null(await Store.LoadAsync(new string(chars)));
        }

        Assert.Null(await Store.LoadAsync(ticket[..^1]));
        Assert.Null(await Store.LoadAsync(ticket + "A"));
        Assert.NotNull(await Store.LoadAsync(ticket));
    }

    [Fact]
    public async Task Load_AfterIdleTimeout_IsNoSession()
    {
        var ticket = await CreateSessionAsync(("n", 1));

        await AdvanceAsync(IdleTimeout + TimeSpan.FromSeconds(1));

        Assert.Null(await Store.LoadAsync(ticket));
    }

    [Fact]
    public async Task Load_WithinIdleTimeout_SlidesTheDeadline()
    {
        var ticket = await CreateSessionAsync(("n", 1));

        // Three idle windows in all, never idle for a whole one: still alive.
        for (var i = 0; i < 4; i++)
        {
            await AdvanceAsync(IdleTimeout * 0.75);
            Assert.Equal(1, await ReadIntAsync(ticket, "n"));
            ticket = await SlideAsync(ticket);
        }
    }

    [Fact]
    public async Task Refresh_UnchangedSession_KeepsItAliveWithoutAWriteWhereLoadsSlide()
    {
        var ticket = await CreateSessionAsync(("n", 1));
        await AdvanceAsync(IdleTimeout * 0.75);
        var session = Store.Open(ticket);
        await session.LoadAsync();
        session.Refresh();

        var result = await session.CommitAsync();

        if (ClientHeld)
        {
            // The deadline lives in the ticket: a new ticket carries it, with the data and version unchanged.
            Assert.Equal(SessionCommitOutcome.Committed, result.Outcome);
            Assert.NotEqual(ticket, session.Ticket);
            Assert.Equal(1, result.Version);
        }
        else
        {
            // The load already slid the deadline server-side: nothing to write, no new ticket.
            Assert.Equal(SessionCommitOutcome.NoChange, result.Outcome);
            Assert.Equal(ticket, session.Ticket);
        }

        await AdvanceAsync(IdleTimeout * 0.75);
        Assert.Equal(1, await ReadIntAsync(session.Ticket!, "n"));
        Assert.Equal(1, (await Store.LoadAsync(session.Ticket!))!.Version);
    }

    /// <summary>
    /// For a decorator: the same decorator built over <paramref name="clientHeld"/>, a store whose state lives in the ticket,
    /// so that the contract sees whether every field of a commit reaches it; <see langword="null"/> for a plain store.
    /// </summary>
    protected virtual ISessionStore? DecorateClientHeld(ISessionStore clientHeld) => null;

    /// <summary>An in-memory store on the contract's clock and limits: what a decorator's contract class wraps.</summary>
    protected Memory.InMemorySessionStore CreateInMemoryStore() => new(
        new Memory.InMemorySessionStoreOptions { IdleTimeout = IdleTimeout, AbsoluteLifetime = AbsoluteLifetime, MaxPayloadBytes = MaxPayloadBytes },
        Time);

    /// <summary>
    /// A client-held store (sealed tickets) on the contract's clock and limits, for <see cref="DecorateClientHeld"/>;
    /// <paramref name="extraPayloadBytes"/> is room for what a decorator adds to each payload (a tiered store's binding).
    /// </summary>
    protected ISessionStore CreateClientHeldStore(int extraPayloadBytes = 0)
    {
        var options = new ClientSide.ClientSideSessionStoreOptions
        {
            IdleTimeout = IdleTimeout,
            AbsoluteLifetime = AbsoluteLifetime,
            MaxPayloadBytes = MaxPayloadBytes + extraPayloadBytes,
            MaxTicketLength = 32 * 1024,
            Purpose = "tests/contract/decorated",
        };
        options.Keys.Add(new ClientSide.ClientSideKey(7, Enumerable.Range(0, 32).Select(i => (byte)(i * 7)).ToArray()));
        return new ClientSide.ClientSideSessionStore(options, Time);
    }

    [Fact]
    public async Task Refresh_OnlyRefreshThroughTheDecoratorOverAClientHeldStore_ReissuesTheTicket()
    {
        if (DecorateClientHeld(CreateClientHeldStore()) is not { } decorated)
        {
            return; // a plain store: Refresh_UnchangedSession_KeepsItAliveWithoutAWriteWhereLoadsSlide is its case
        }

        var created = decorated.Open(null);
        created.Set("n", 1, ContractJsonContext.Default.Int32);
        var ticket = (await created.CommitAsync()).Ticket!;
        await AdvanceAsync(IdleTimeout * 0.75);
        var session = decorated.Open(ticket);
        await session.LoadAsync();
        session.Refresh();

        var result = await session.CommitAsync();

        // The deadline lives in the client-held ticket: only a re-issued one moves it, so a user who only reads stays signed in.
        Assert.Equal(SessionCommitOutcome.Committed, result.Outcome);
        Assert.NotEqual(ticket, session.Ticket);
        await AdvanceAsync(IdleTimeout * 0.75);
        var later = decorated.Open(session.Ticket);
        Assert.Equal(1, await later.GetAsync("n", ContractJsonContext.Default.Int32));
    }

    [Fact]
    public async Task Load_AfterAbsoluteLifetime_IsNoSessionEvenWhenActive()
    {
        var ticket = await CreateSessionAsync(("n", 1));
        var elapsed = TimeSpan.Zero;
        while (elapsed + (IdleTimeout / 2) < AbsoluteLifetime)
        {
            await AdvanceAsync(IdleTimeout / 2);
            elapsed += IdleTimeout / 2;
            Assert.Equal(1, await ReadIntAsync(ticket, "n"));
            ticket = await SlideAsync(ticket);
        }

        await AdvanceAsync(AbsoluteLifetime - elapsed + TimeSpan.FromSeconds(1));

        Assert.Null(await Store.LoadAsync(ticket));
    }

    [Fact]
    public async Task Commit_UnchangedSession_WritesNothingAndIssuesNoTicket()
    {
        var ticket = await CreateSessionAsync(("n", 1));
        var session = Store.Open(ticket);
        Assert.Equal(1, await session.GetAsync("n", ContractJsonContext.Default.Int32));

        var result = await session.CommitAsync();

        Assert.Equal(SessionCommitOutcome.NoChange, result.Outcome);
        Assert.Null(result.Ticket);
        Assert.Equal(ticket, session.Ticket);
        Assert.Equal(1, (await Store.LoadAsync(ticket))!.Version);
    }

    [Fact]
    public async Task Commit_ChangedKey_BumpsVersionAndKeepsOtherKeys()
    {
        var ticket = await CreateSessionAsync(("a", 1), ("b", 2));
        var session = Store.Open(ticket);
        await session.LoadAsync();
        session.Set("a", 10, ContractJsonContext.Default.Int32);
        session.Remove("missing");

        var result = await session.CommitAsync();

        Assert.Equal(SessionCommitOutcome.Committed, result.Outcome);
        Assert.Equal(2, result.Version);
        var current = session.Ticket!;
        Assert.Equal(10, await ReadIntAsync(current, "a"));
        Assert.Equal(2, await ReadIntAsync(current, "b"));
    }

    [Fact]
    public async Task Commit_StaleBasesOnDifferentKeys_BothKeysSurvive()
    {
        var ticket = await CreateSessionAsync(("seed", 0));
        var first = Store.Open(ticket);
        var second = Store.Open(ticket);
        await first.LoadAsync();
        await second.LoadAsync();

        first.Set("a", 1, ContractJsonContext.Default.Int32);
        second.Set("b", 2, ContractJsonContext.Default.Int32);
        var r1 = await first.CommitAsync();
        var r2 = await second.CommitAsync();

        if (ClientHeld)
        {
            // Nothing server-side to merge into: each commit hands back its own whole, self-consistent ticket.
            Assert.NotEqual(r1.Ticket, r2.Ticket);
            Assert.Equal(1, await ReadIntAsync(r1.Ticket!, "a"));
            Assert.Null(await ReadIntAsync(r1.Ticket!, "b"));
            Assert.Equal(2, await ReadIntAsync(r2.Ticket!, "b"));
            Assert.Null(await ReadIntAsync(r2.Ticket!, "a"));
            Assert.Equal(0, await ReadIntAsync(r2.Ticket!, "seed"));
            return;
        }

        var current = r2.Ticket ?? r1.Ticket ?? ticket;
        Assert.Equal(1, await ReadIntAsync(current, "a"));
        Assert.Equal(2, await ReadIntAsync(current, "b"));
        Assert.Equal(0, await ReadIntAsync(current, "seed"));
    }

    [Fact]
    public async Task Commit_BlindWrite_MergesWithoutLoading()
    {
        var ticket = await CreateSessionAsync(("a", 1), ("b", 2));
        var session = Store.Open(ticket);
        session.Set("c", 3, ContractJsonContext.Default.Int32);
        session.Remove("a");

        var result = await session.CommitAsync();

        Assert.False(session.IsLoaded);
        Assert.Equal(SessionCommitOutcome.Committed, result.Outcome);
        var current = session.Ticket!;
        Assert.Null(await ReadIntAsync(current, "a"));
        Assert.Equal(2, await ReadIntAsync(current, "b"));
        Assert.Equal(3, await ReadIntAsync(current, "c"));
    }

    [Fact]
    public async Task Commit_BlindWriteAfterRevoke_DoesNotResurrectTheSession()
    {
        var ticket = await CreateSessionAsync(("secret", 42));
        var revoker = Store.Open(ticket);
        revoker.Revoke();
        await revoker.CommitAsync();
        Assert.Null(revoker.Ticket);
        if (!RevokesById)
        {
            // A ticket held by the client outlives a revoke nothing server-side remembers; the capabilities say so.
            return;
        }

        var late = Store.Open(ticket);
        late.Set("late", 1, ContractJsonContext.Default.Int32);
        var result = await late.CommitAsync();

        Assert.Null(await Store.LoadAsync(ticket));
        if (result.Outcome == SessionCommitOutcome.Committed && late.Ticket is not null)
        {
            // The write may start a new session, but never one that carries the revoked data.
            Assert.NotEqual(ticket, late.Ticket);
            Assert.Null(await ReadIntAsync(late.Ticket, "secret"));
            Assert.Equal(1, await ReadIntAsync(late.Ticket, "late"));
        }
    }

    [Fact]
    public async Task Commit_BlindWriteAfterExpiry_DoesNotResurrectTheSession()
    {
        var ticket = await CreateSessionAsync(("secret", 42));
        await AdvanceAsync(IdleTimeout + TimeSpan.FromSeconds(1));

        var late = Store.Open(ticket);
        late.Set("late", 1, ContractJsonContext.Default.Int32);
        var result = await late.CommitAsync();

        Assert.Null(await Store.LoadAsync(ticket));
        if (result.Outcome == SessionCommitOutcome.Committed && late.Ticket is not null)
        {
            Assert.NotEqual(ticket, late.Ticket);
            Assert.Null(await ReadIntAsync(late.Ticket, "secret"));
        }
    }

    [Fact]
    public async Task Commit_RemovingEveryKey_DeletesTheSession()
    {
        var ticket = await CreateSessionAsync(("a", 1), ("b", 2));
        var session = Store.Open(ticket);
        await session.LoadAsync();
        session.Remove("a");
        session.Remove("b");

        var result = await session.CommitAsync();

        Assert.Equal(SessionCommitOutcome.Deleted, result.Outcome);
        Assert.Null(session.Ticket);
        if (!ClientHeld || RevokesById)
        {
            Assert.Null(await Store.LoadAsync(ticket));
        }
    }

    [Fact]
    public async Task Commit_ClearThenSet_ReplacesEveryKey()
    {
        var ticket = await CreateSessionAsync(("a", 1), ("b", 2));
        var session = Store.Open(ticket);
        session.Clear();
        session.Set("c", 3, ContractJsonContext.Default.Int32);

        await session.CommitAsync();

        var reloaded = Store.Open(session.Ticket);
        await reloaded.LoadAsync();
        Assert.Equal(new[] { "c" }, reloaded.Keys.ToArray());
    }

    [Fact]
    public async Task Commit_NewSessionWithNoKeys_CreatesNothing()
    {
        var session = Store.Open(null);
        session.Remove("nothing");

        var result = await session.CommitAsync();

        Assert.Equal(SessionCommitOutcome.NoChange, result.Outcome);
        Assert.Null(session.Ticket);
    }

    [Fact]
    public async Task RotateId_KeepsDataAndKillsTheOldTicket()
    {
        var ticket = await CreateSessionAsync(("cart", 7));
        var session = Store.Open(ticket);
        await session.LoadAsync();
        var oldId = session.Id;
        session.RotateId();

        var result = await session.CommitAsync();

        Assert.Equal(SessionCommitOutcome.Committed, result.Outcome);
        Assert.NotNull(result.Ticket);
        Assert.NotEqual(ticket, result.Ticket);
        Assert.NotEqual(oldId, result.SessionId);
        Assert.Equal(7, await ReadIntAsync(result.Ticket!, "cart"));
        if (!ClientHeld || RevokesById)
        {
            Assert.Null(await Store.LoadAsync(ticket));
        }
    }

    [Fact]
    public async Task Revoke_ThroughTheSession_DeletesIt()
    {
        var ticket = await CreateSessionAsync(("n", 1));
        var session = Store.Open(ticket);
        session.Revoke();

        var result = await session.CommitAsync();

        Assert.Equal(SessionCommitOutcome.Deleted, result.Outcome);
        Assert.Null(session.Ticket);
        if (!ClientHeld || RevokesById)
        {
            Assert.Null(await Store.LoadAsync(ticket));
        }
    }

    [Fact]
    public async Task RevokeAsync_ById_AsCapabilitiesDeclare()
    {
        var ticket = await CreateSessionAsync(("n", 1));
        var id = (await Store.LoadAsync(ticket))!.Id;

        if (!Store.Capabilities.Revocation.HasFlag(RevocationSupport.ById))
        {
            await Assert.ThrowsAsync<NotSupportedException>(async () => await Store.RevokeAsync(id));
            return;
        }

        Assert.True(await Store.RevokeAsync(id));
        Assert.Null(await Store.LoadAsync(ticket));
        Assert.False(await Store.RevokeAsync(id));
    }

    [Fact]
    public async Task RevokeUserAsync_EndsEverySessionOfThatUserOnly_AsCapabilitiesDeclare()
    {
        var ana1 = Store.Open(null);
        ana1.Set("n", 1, ContractJsonContext.Default.Int32);
        ana1.BindUser("ana");
        await ana1.CommitAsync();
        var ana2 = Store.Open(null);
        ana2.Set("n", 2, ContractJsonContext.Default.Int32);
        ana2.BindUser("ana");
        await ana2.CommitAsync();
        var bob = Store.Open(null);
        bob.Set("n", 3, ContractJsonContext.Default.Int32);
        bob.BindUser("bob");
        await bob.CommitAsync();

        if (!Store.Capabilities.Revocation.HasFlag(RevocationSupport.ByUser))
        {
            await Assert.ThrowsAsync<NotSupportedException>(async () => await Store.RevokeUserAsync("ana"));
            return;
        }

        Assert.Equal(2, await Store.RevokeUserAsync("ana"));
        Assert.Null(await Store.LoadAsync(ana1.Ticket!));
        Assert.Null(await Store.LoadAsync(ana2.Ticket!));
        Assert.Equal(3, await ReadIntAsync(bob.Ticket!, "n"));
        Assert.Equal("bob", (await Store.LoadAsync(bob.Ticket!))!.UserId);
    }

    [Fact]
    public async Task RevokeUserAsync_AfterRotation_StillFindsTheSession()
    {
        if (!Store.Capabilities.Revocation.HasFlag(RevocationSupport.ByUser))
        {
            return;
        }

        var session = Store.Open(null);
        session.Set("n", 1, ContractJsonContext.Default.Int32);
        session.BindUser("carla");
        await session.CommitAsync();
        session.RotateId();
        await session.CommitAsync();

        Assert.Equal(1, await Store.RevokeUserAsync("carla"));
        Assert.Null(await Store.LoadAsync(session.Ticket!));
    }

    [Fact]
    public async Task Commit_OverPayloadLimit_ThrowsTypedErrorNamingTheLimitAndLosesNothing()
    {
        var ticket = await CreateSessionAsync(("n", 1));
        var session = Store.Open(ticket);
        session.SetBytes("blob", new byte[MaxPayloadBytes + 1]);

        var error = await Assert.ThrowsAsync<SessionPayloadTooLargeException>(async () => await session.CommitAsync());

        Assert.Equal(Store.Capabilities.MaxPayloadBytes, error.Limit);
        Assert.True(error.Size > error.Limit);
        Assert.Contains(error.Limit.ToString(System.Globalization.CultureInfo.InvariantCulture), error.Message, StringComparison.Ordinal);
        Assert.Equal(1, await ReadIntAsync(ticket, "n"));
        Assert.True(session.HasChanges, "the failed commit must keep the request's changes");
    }

    [Fact]
    public async Task Capabilities_MaxPayloadBytes_IsTheExactLimit()
    {
        Assert.Equal(MaxPayloadBytes, Store.Capabilities.MaxPayloadBytes);
        var session = Store.Open(null);

        // Key "k" is one byte: key + value exactly at the limit fits.
        session.SetBytes("k", new byte[MaxPayloadBytes - 1]);
        var result = await session.CommitAsync();
        Assert.Equal(SessionCommitOutcome.Committed, result.Outcome);

        var over = Store.Open(null);
        over.SetBytes("k", new byte[MaxPayloadBytes]);
        await Assert.ThrowsAsync<SessionPayloadTooLargeException>(async () => await over.CommitAsync());
    }

    [Fact]
    public async Task Commit_StaleBaseRequiringVersion_ReportsConflict_AsCapabilitiesDeclare()
    {
        if (Store.Capabilities.Concurrency != ConcurrencyGuarantee.CompareAndSet)
        {
            return;
        }

        var ticket = await CreateSessionAsync(("n", 1));
        var stale = await Store.LoadAsync(ticket);
        var winner = Store.Open(ticket);
        winner.Set("n", 2, ContractJsonContext.Default.Int32);
        await winner.CommitAsync();

        var result = await Store.CommitAsync(new SessionCommit
        {
            Ticket = ticket,
            Base = stale,
            Upserts = new Dictionary<string, ReadOnlyMemory<byte>> { ["n"] = "3"u8.ToArray() },
            Mode = SessionCommitMode.RequireBaseVersion,
        });

        Assert.Equal(SessionCommitOutcome.Conflict, result.Outcome);
        Assert.Equal(2, await ReadIntAsync(winner.Ticket!, "n"));
    }

    [Fact]
    public async Task UpdateAsync_SequentialIncrements_CountExactly()
    {
        var ticket = await CreateSessionAsync(("counter", 0));
        for (var i = 0; i < 20; i++)
        {
            var result = await Store.UpdateAsync(ticket, Increment);
            ticket = result.Ticket ?? ticket;
        }

        Assert.Equal(20, await ReadIntAsync(ticket, "counter"));
    }

    [Fact]
    public async Task UpdateAsync_100ConcurrentIncrements_MatchTheDeclaredGuarantee()
    {
        var ticket = await CreateSessionAsync(("counter", 0));

        var results = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => Task.Run(async () =>
            await Store.UpdateAsync(ticket, Increment, maxAttempts: 1_000))));

        if (ClientHeld)
        {
            // Honest last-writer-wins: every update started from the same ticket, so each returned ticket counts exactly 1,
            // and whichever the client keeps wins.
            foreach (var result in results)
            {
                Assert.Equal(SessionCommitOutcome.Committed, result.Outcome);
                Assert.Equal(1, await ReadIntAsync(result.Ticket!, "counter"));
            }

            return;
        }

        var count = await ReadIntAsync(ticket, "counter");
        if (Store.Capabilities.Concurrency == ConcurrencyGuarantee.CompareAndSet)
        {
            Assert.Equal(100, count);
        }
        else
        {
            // Last writer wins: some increments may be lost, but the session stays whole and readable.
            Assert.InRange(count!.Value, 1, 100);
        }
    }

    [Fact]
    public async Task UpdateAsync_AlwaysContended_GivesUpWithTypedConflict()
    {
        if (Store.Capabilities.Concurrency != ConcurrencyGuarantee.CompareAndSet)
        {
            return;
        }

        var ticket = await CreateSessionAsync(("counter", 0));
        var attempts = 0;

        var error = await Assert.ThrowsAsync<SessionConflictException>(async () => await Store.UpdateAsync(
            ticket,
            async (session, ct) =>
            {
                attempts++;
                Increment(session);

                // Someone else commits between this attempt's load and its commit, every time.
                var rival = Store.Open(ticket);
                rival.Set("rival", attempts, ContractJsonContext.Default.Int32);
                await rival.CommitAsync(ct);
            },
            maxAttempts: 3));

        Assert.Equal(3, attempts);
        Assert.Equal(3, error.Attempts);
        Assert.Equal(0, await ReadIntAsync(ticket, "counter"));
    }

    [Fact]
    public async Task Load_CanceledToken_Throws()
    {
        var ticket = await CreateSessionAsync(("n", 1));
        using var cts = new System.Threading.CancellationTokenSource();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await Store.LoadAsync(ticket, cts.Token));
    }

    /// <summary>Adds one to the "counter" key.</summary>
    protected static void Increment(StateSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        var value = session.Get("counter", ContractJsonContext.Default.Int32);
        session.Set("counter", value + 1, ContractJsonContext.Default.Int32);
    }
}
