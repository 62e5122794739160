using System;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Time.Testing;
using StateKit.Memory;
using StateKit.Resilience;
using StateKit.Testing;

namespace StateKit.Tests.Resilience;

/// <summary>Sessions per user (issue 18) through the circuit breaker, its fallback and its outage journal.</summary>
public sealed class ResilientSessionStoreListingTests : IDisposable
{
    private static readonly TimeSpan Break = TimeSpan.FromSeconds(5);

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
    private readonly InMemorySessionStore _primary;
    private readonly ChaosSessionStore _chaos;
    private readonly GatedSessionStore _gated;
    private ResilientSessionStore? _store;

    public ResilientSessionStoreListingTests()
    {
        _primary = new InMemorySessionStore(new InMemorySessionStoreOptions(), _time);
        _chaos = new ChaosSessionStore(_primary, _time);
        _gated = new GatedSessionStore(_chaos);
    }

    public void Dispose() => _store?.Dispose();

    private ResilientSessionStore Create(OutagePolicy outage)
    {
        var options = new ResilienceOptions { Name = "primary", Outage = outage, Timeout = TimeSpan.FromSeconds(1) };
        options.CircuitBreaker.MinimumThroughput = 3;
        options.CircuitBreaker.FailureRatio = 0.5;
        options.CircuitBreaker.BreakDuration = Break;
        return _store = new ResilientSessionStore(_gated, options, timeProvider: _time);
    }

    private static async Task<string> SignInAsync(ISessionStore store, string userId, string cart)
    {
        var session = store.Open(null);
        session.SetBytes("cart", Encoding.UTF8.GetBytes(cart));
        session.BindUser(userId);
        return (await session.CommitAsync()).Ticket!;
    }

    private static async Task<string> WriteAsync(ISessionStore store, string ticket, string cart)
    {
        var session = store.Open(ticket);
        await session.LoadAsync();
        session.SetBytes("cart", Encoding.UTF8.GetBytes(cart));
        return (await session.CommitAsync()).Ticket ?? ticket;
    }

    private static async Task<string?> ReadAsync(ISessionStore store, string ticket)
    {
        var snapshot = await store.LoadAsync(ticket);
        return snapshot is not null && snapshot.Values.TryGetValue("cart", out var v) ? Encoding.UTF8.GetString(v.Span) : null;
    }

    private async Task OpenCircuitAsync(ResilientSessionStore store)
    {
        _chaos.Fail();
        for (var i = 0; i < 10 && store.CircuitBreaker.State == CircuitState.Closed; i++)
        {
            await Assert.ThrowsAnyAsync<SessionStoreUnavailableException>(async () => await store.LoadAsync("AAAAAAAAAAAAAAAAAAAAAA"));
        }

        Assert.Equal(CircuitState.Open, store.CircuitBreaker.State);
    }

    [Fact]
    public async Task CircuitOpen_ListingAndRevokingByPublicId_FailTypedAndNeverListTheFallbacksSessions()
    {
        var store = Create(OutagePolicy.FallbackWithJournal);
        var phone = await SignInAsync(_primary, "ana", "1");
        await OpenCircuitAsync(store);
        await SignInAsync(store, "ana", "2"); // a sign-in during the outage lives in the fallback only
        var calls = _chaos.Calls;

        var list = await Assert.ThrowsAsync<SessionStoreRejectedException>(async () => await store.ListUserSessionsAsync("ana"));
        var revoke = await Assert.ThrowsAsync<SessionStoreRejectedException>(async () => await store.RevokeUserSessionAsync("ana", SessionIds.ToPublicId(phone)));

        Assert.Equal(SessionStoreRejectionReason.CircuitOpen, list.Reason);
        Assert.Equal(SessionStoreRejectionReason.CircuitOpen, revoke.Reason);
        Assert.Equal(calls, _chaos.Calls);
        Assert.Equal("1", await ReadAsync(_primary, phone)); // not ended
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await store.ListUserSessionsAsync("ana", pageSize: 0)); // bad input stays a bad-input error
    }

    [Fact]
    public async Task ListingFailures_CountAgainstTheStore_AndOpenTheCircuit()
    {
        var store = Create(OutagePolicy.FailFast);
        _chaos.Fail();

        for (var i = 0; i < 3; i++)
        {
            await Assert.ThrowsAnyAsync<SessionStoreUnavailableException>(async () => await store.ListUserSessionsAsync("ana"));
        }

        Assert.Equal(CircuitState.Open, store.CircuitBreaker.State);
        var rejected = await Assert.ThrowsAsync<SessionStoreRejectedException>(async () => await store.ListUserSessionsAsync("ana"));
        Assert.Equal(SessionStoreRejectionReason.CircuitOpen, rejected.Reason);
    }

    [Fact]
    public async Task RevokeByPublicId_BeforeTheReplayOfItsOutageWrites_TheReplayDoesNotBringItBack()
    {
        var store = Create(OutagePolicy.FallbackWithJournal);
        var phone = await SignInAsync(_primary, "ana", "1");
        await OpenCircuitAsync(store);
        var outageTicket = await WriteAsync(store, phone, "2"); // journaled, claiming the phone's session
        await store.CommitAsync(new SessionCommit { Ticket = SessionIds.NewId(), Revoke = true }); // a revocation the replay sends first
        Assert.Equal(1, store.JournalDepth);

        // The circuit closes and the replay starts; it is held in its first call, before it reaches the journaled session.
        _chaos.Heal();
        var held = _gated.HoldNextCommit();
        store.CircuitBreaker.Reset();
        await held.Entered.Task.WaitAsync(TimeSpan.FromSeconds(10), TimeProvider.System);

        Assert.True(await store.RevokeUserSessionAsync("ana", SessionIds.ToPublicId(phone)));
        Assert.Equal(0, store.JournalDepth);
        held.Release();
        await store.ReconcileAsync();

        Assert.Equal(0, _primary.Count); // no session started from the ended one's outage writes
        Assert.Null(await store.LoadAsync(outageTicket));
        Assert.Null(await store.LoadAsync(phone));
        Assert.Empty((await store.ListUserSessionsAsync("ana")).Sessions);
    }

    [Fact]
    public async Task RevokeByPublicId_ReplayReachingTheSessionMeanwhile_WaitsAndDoesNotBringItBack()
    {
        var store = Create(OutagePolicy.FallbackWithJournal);
        var phone = await SignInAsync(_primary, "ana", "1");
        await OpenCircuitAsync(store);
        var outageTicket = await WriteAsync(store, phone, "2");
        await store.CommitAsync(new SessionCommit { Ticket = SessionIds.NewId(), Revoke = true });
        _chaos.Heal();
        var replayHeld = _gated.HoldNextCommit();
        store.CircuitBreaker.Reset();
        await replayHeld.Entered.Task.WaitAsync(TimeSpan.FromSeconds(10), TimeProvider.System);

        // The primary has ended the session; the breaker has not yet dropped its outage writes when the replay moves on.
        var revokeHeld = _gated.HoldAfterNextRevokeUserSession();
        var revoking = store.RevokeUserSessionAsync("ana", SessionIds.ToPublicId(phone)).AsTask();
        await revokeHeld.Entered.Task.WaitAsync(TimeSpan.FromSeconds(10), TimeProvider.System);
        replayHeld.Release();
        revokeHeld.Release();
        Assert.True(await revoking);
        await store.ReconcileAsync();

        Assert.Equal(0, _primary.Count);
        Assert.Null(await store.LoadAsync(outageTicket));
    }

    [Fact]
    public async Task RevokeByPublicId_RequestThatLoadedItBeforeCommitsDuringTheOutage_DoesNotSeedTheFallbackWithIt()
    {
        var store = Create(OutagePolicy.FallbackWithJournal);
        var phone = await SignInAsync(_primary, "ana", "1");
        var loaded = await store.LoadAsync(phone); // a request on the phone, in flight while the user ends that session
        Assert.True(await store.RevokeUserSessionAsync("ana", SessionIds.ToPublicId(phone)));
        await OpenCircuitAsync(store);

        var result = await store.CommitAsync(new SessionCommit
        {
            Ticket = phone,
            Base = loaded,
            Upserts = new System.Collections.Generic.Dictionary<string, ReadOnlyMemory<byte>> { ["cart"] = "2"u8.ToArray() },
        });

        Assert.Equal(SessionCommitOutcome.NotFound, result.Outcome); // not a fallback copy of the ended session, signed in as ana
        Assert.Equal(0, store.JournalDepth);
    }

    [Fact]
    public async Task RevokeByPublicId_AfterTheReplay_EndsTheSessionTheOutageTicketIsForwardedTo()
    {
        var store = Create(OutagePolicy.FallbackWithJournal);
        var phone = await SignInAsync(_primary, "ana", "1");
        await OpenCircuitAsync(store);
        var outageTicket = await WriteAsync(store, phone, "2");
        _chaos.Heal();
        _time.Advance(Break);
        await store.ReconcileAsync();
        Assert.Equal("2", await ReadAsync(store, outageTicket)); // replayed into the phone's session and forwarded there

        var listed = Assert.Single((await store.ListUserSessionsAsync("ana")).Sessions);
        Assert.True(await store.RevokeUserSessionAsync("ana", listed.PublicId));

        Assert.Null(await store.LoadAsync(outageTicket));
        Assert.Null(await store.LoadAsync(phone));
        Assert.Equal(0, _primary.Count);
    }
}
