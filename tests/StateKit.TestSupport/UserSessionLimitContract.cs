using System;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.Extensions.Time.Testing;

namespace StateKit.Testing;

/// <summary>
/// <c>MaxSessionsPerUser</c> and its two policies (issue 18), run against a real instance of each store that enforces it.
/// </summary>
public abstract class UserSessionLimitContract
{
    /// <summary>The limit every store under this contract is built with.</summary>
    public const int Limit = 5;

    /// <summary>The idle timeout every store under this contract is built with.</summary>
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(20);

    /// <summary>How far apart two activities must be for every store to tell which came last: over IdleTimeout / 20.</summary>
    public static readonly TimeSpan ActivityResolution = TimeSpan.FromMinutes(1.5);

    /// <summary>The clock every store under this contract reads.</summary>
    protected FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));

    /// <summary>Builds the store with <see cref="Limit"/> sessions per user, <paramref name="policy"/>, <see cref="IdleTimeout"/> and <see cref="Time"/>.</summary>
    protected abstract ISessionStore CreateStore(UserSessionLimitPolicy policy);

    [Fact]
    public async Task SignOutPolicy_OneSignInPastTheLimit_SignsOutTheLeastRecentlyActiveOnly()
    {
        var store = CreateStore(UserSessionLimitPolicy.SignOutLeastRecentlyActive);
        var tickets = new string[Limit];
        for (var i = 0; i < Limit; i++)
        {
            tickets[i] = (await SignInAsync(store, "ana")).Ticket!;

            // Longer than the Redis store's LastAccessWriteInterval (a twentieth of IdleTimeout by default): a store may
            // know a session's last activity only to that resolution.
            Time.Advance(ActivityResolution);
        }

        Assert.NotNull(await store.LoadAsync(tickets[0])); // the first is now the most recently active; the second the least

        var extra = await SignInAsync(store, "ana");

        Assert.Equal(SessionCommitOutcome.Committed, extra.Outcome);
        Assert.Null(await store.LoadAsync(tickets[1]));
        foreach (var ticket in tickets.Where((_, i) => i != 1).Append(extra.Ticket!))
        {
            Assert.NotNull(await store.LoadAsync(ticket));
        }

        Assert.Equal(Limit, (await ((ISessionLister)store).ListUserSessionsAsync("ana")).Sessions.Count);
    }

    [Fact]
    public async Task RefusePolicy_SignInPastTheLimit_IsRefusedWithATypedResultAndWritesNothing()
    {
        var store = CreateStore(UserSessionLimitPolicy.RefuseNewSession);
        for (var i = 0; i < Limit; i++)
        {
            Assert.Equal(SessionCommitOutcome.Committed, (await SignInAsync(store, "ana")).Outcome);
        }

        var refused = await SignInAsync(store, "ana");

        Assert.Equal(SessionCommitOutcome.SessionLimitReached, refused.Outcome);
        Assert.Null(refused.Ticket);
        Assert.Equal(Limit, (await ((ISessionLister)store).ListUserSessionsAsync("ana")).Sessions.Count);
        Assert.Equal(SessionCommitOutcome.Committed, (await SignInAsync(store, "bob")).Outcome);
    }

    [Fact]
    public async Task RefusePolicy_BindingAnAnonymousSessionPastTheLimit_LeavesItAnonymousAndUnchanged()
    {
        var store = CreateStore(UserSessionLimitPolicy.RefuseNewSession);
        await FillAsync(store, "ana");

        var ticket = await OpenAnonymousAsync(store);
        var signIn = store.Open(ticket);
        signIn.Set("cart", 2, ContractJsonContext.Default.Int32);
        signIn.BindUser("ana");

        Assert.Equal(SessionCommitOutcome.SessionLimitReached, (await signIn.CommitAsync()).Outcome);

        var stored = await store.LoadAsync(ticket);
        Assert.NotNull(stored);
        Assert.Null(stored!.UserId);
        Assert.Equal(1L, stored.Version);
    }

    [Fact]
    public async Task RefusePolicy_ExpiredSessions_DoNotCountAgainstTheLimit()
    {
        var store = CreateStore(UserSessionLimitPolicy.RefuseNewSession);
        await FillAsync(store, "ana");

        Time.Advance(IdleTimeout + TimeSpan.FromSeconds(1));

        Assert.Equal(SessionCommitOutcome.Committed, (await SignInAsync(store, "ana")).Outcome);
    }

    [Fact]
    public async Task RefusePolicy_CommitOfASessionAlreadyBoundToTheUser_IsNotCountedTwice()
    {
        var store = CreateStore(UserSessionLimitPolicy.RefuseNewSession);
        var last = await FillAsync(store, "ana");

        var again = store.Open(last);
        again.Set("n", 2, ContractJsonContext.Default.Int32);
        again.BindUser("ana");

        Assert.Equal(SessionCommitOutcome.Committed, (await again.CommitAsync()).Outcome);
    }

    [Fact]
    public async Task RefusePolicy_RotatingTheIdOfASessionAtTheLimit_IsNotCountedAsANewSignIn()
    {
        var store = CreateStore(UserSessionLimitPolicy.RefuseNewSession);
        var last = await FillAsync(store, "ana");

        var rotate = store.Open(last);
        rotate.RotateId();
        rotate.BindUser("ana");
        var rotated = await rotate.CommitAsync();

        Assert.Equal(SessionCommitOutcome.Committed, rotated.Outcome);
        Assert.NotNull(await store.LoadAsync(rotated.Ticket!));
        Assert.Equal(Limit, (await ((ISessionLister)store).ListUserSessionsAsync("ana")).Sessions.Count);
    }

    [Fact]
    public async Task RefusePolicy_SignInThatRotatesAnAnonymousSessionPastTheLimit_IsRefused()
    {
        var store = CreateStore(UserSessionLimitPolicy.RefuseNewSession);
        await FillAsync(store, "ana");

        var ticket = await OpenAnonymousAsync(store);
        var signIn = store.Open(ticket);
        signIn.RotateId();
        signIn.BindUser("ana");

        Assert.Equal(SessionCommitOutcome.SessionLimitReached, (await signIn.CommitAsync()).Outcome);
        Assert.Equal(Limit, (await ((ISessionLister)store).ListUserSessionsAsync("ana")).Sessions.Count);
        Assert.Null((await store.LoadAsync(ticket))?.UserId);
    }

    [Theory]
    [InlineData(UserSessionLimitPolicy.SignOutLeastRecentlyActive)]
    [InlineData(UserSessionLimitPolicy.RefuseNewSession)]
    public async Task TwentyParallelSignIns_LeaveExactlyTheLimitLive(UserSessionLimitPolicy policy)
    {
        var store = CreateStore(policy);

        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Task.Run(() => SignInAsync(store, "ana"))));

        var live = 0;
        foreach (var result in results.Where(r => r.Outcome == SessionCommitOutcome.Committed))
        {
            live += await store.LoadAsync(result.Ticket!) is null ? 0 : 1;
        }

        Assert.Equal(Limit, live);
        Assert.Equal(Limit, (await ((ISessionLister)store).ListUserSessionsAsync("ana")).Sessions.Count);
        if (policy == UserSessionLimitPolicy.RefuseNewSession)
        {
            Assert.Equal(20 - Limit, results.Count(r => r.Outcome == SessionCommitOutcome.SessionLimitReached));
        }
    }

    // Signs the user in up to the limit; returns the last ticket.
    private static async Task<string> FillAsync(ISessionStore store, string userId)
    {
        string? last = null;
        for (var i = 0; i < Limit; i++)
        {
            last = (await SignInAsync(store, userId)).Ticket;
        }

        return last!;
    }

    private static async Task<string> OpenAnonymousAsync(ISessionStore store)
    {
        var anonymous = store.Open(null);
        anonymous.Set("cart", 1, ContractJsonContext.Default.Int32);
        return (await anonymous.CommitAsync()).Ticket!;
    }

    private static async Task<SessionCommitResult> SignInAsync(ISessionStore store, string userId)
    {
        var session = store.Open(null);
        session.Set("n", 1, ContractJsonContext.Default.Int32);
        session.BindUser(userId);
        return await session.CommitAsync();
    }
}
