using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using StateKit.DependencyInjection;
using StateKit.Memory;
using StateKit.Testing;
using StateKit.Tests.Sticky;
using StateKit.Tiering;

namespace StateKit.Tests.Tiering;

/// <summary>
/// The two tiers every test here spreads a session over: "critical" (a real in-memory store, which keeps the user index)
/// holds "cart"; "standard" (a real distributed-cache store, which keeps none) holds everything else.
/// </summary>
internal static class TieredUserSessionKit
{
    public static TieredSessionStore Create(TimeProvider time, out InMemorySessionStore critical, out ISessionStore standard, int maxSessionsPerUser = 0, UserSessionLimitPolicy policy = UserSessionLimitPolicy.SignOutLeastRecentlyActive)
    {
        critical = new InMemorySessionStore(
            new InMemorySessionStoreOptions
            {
                IdleTimeout = UserSessionListerContract.IdleTimeout,
                AbsoluteLifetime = UserSessionListerContract.AbsoluteLifetime,
                MaxSessionsPerUser = maxSessionsPerUser,
                SessionLimitPolicy = policy,
            },
            time);
        standard = StickyTestKit.Backup(time);
        return new TieredSessionStore(
            new Dictionary<string, ISessionStore> { ["critical"] = critical, ["standard"] = standard },
            new TieredSessionStoreOptions { DefaultTier = "standard" }.MapKey("cart", "critical"));
    }
}

/// <summary>The listing contract on a tiered store: the keys the contract writes live in "standard", the listing in "critical".</summary>
public sealed class TieredUserSessionListerTests : UserSessionListerContract
{
    private InMemorySessionStore? _critical;

    protected override ISessionStore CreateStore() => TieredUserSessionKit.Create(Time, out _critical, out _);

    protected override Task<int> IndexedCountAsync(string userId) => Task.FromResult(_critical!.IndexedCountOf(userId));
}

/// <summary>The limit contract on a tiered store: the index tier's own MaxSessionsPerUser judges the whole session.</summary>
public sealed class TieredUserSessionLimitTests : UserSessionLimitContract
{
    protected override ISessionStore CreateStore(UserSessionLimitPolicy policy) => TieredUserSessionKit.Create(Time, out _, out _, Limit, policy);
}

public sealed class TieredUserSessionTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));

    [Fact]
    public async Task Capabilities_ListOnlyWithATierThatLists_ElseThrowNamingTheFix()
    {
        var indexed = TieredUserSessionKit.Create(_time, out _, out _);
        Assert.True(indexed.Capabilities.ListsUserSessions);
        Assert.Equal("critical", indexed.UserIndexTier);

        var unindexed = new TieredSessionStore(
            new Dictionary<string, ISessionStore> { ["a"] = StickyTestKit.Backup(_time), ["b"] = StickyTestKit.Backup(_time) },
            new TieredSessionStoreOptions { DefaultTier = "a" });
        Assert.False(unindexed.Capabilities.ListsUserSessions);
        Assert.Null(unindexed.UserIndexTier);
        var e = await Assert.ThrowsAsync<NotSupportedException>(() => unindexed.ListUserSessionsAsync("ana").AsTask());
        Assert.Contains("UserIndexTier", e.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<NotSupportedException>(() => unindexed.RevokeUserSessionAsync("ana", new string('0', 32)).AsTask());
    }

    [Fact]
    public async Task List_ShowsThePublicIdStateSessionShows_NotTheHashOfTheCompositeId()
    {
        var store = TieredUserSessionKit.Create(_time, out _, out _);
        var session = await SignInAsync(store, "ana", cart: 1, name: "Ana");

        var listed = Assert.Single((await store.ListUserSessionsAsync("ana")).Sessions);

        Assert.Equal(session.Id, listed.PublicId);
        Assert.NotEqual(SessionIds.ToPublicId(session.BearerId!), listed.PublicId);
        Assert.Equal("Phone", listed.Metadata["ua"]);

        // A later request loads the session and shows the same public id.
        var later = store.Open(session.Ticket);
        await later.LoadAsync();
        Assert.Equal(listed.PublicId, later.Id);
    }

    [Fact]
    public async Task SignIn_WithNoKeyInTheIndexTier_StillBindsThereSoTheListingShowsIt()
    {
        var store = TieredUserSessionKit.Create(_time, out var critical, out _);

        var session = await SignInAsync(store, "ana", cart: null, name: "Ana");

        Assert.Contains("critical", store.SplitTicket(session.Ticket!).Keys);
        Assert.Equal(1, critical.IndexedCountOf("ana"));
        Assert.Equal(session.Id, Assert.Single((await store.ListUserSessionsAsync("ana")).Sessions).PublicId);
    }

    [Fact]
    public async Task RevokeUserSession_EndsTheWholeSession_NoPartLoadsAndTheNextWriteStartsAfresh()
    {
        var store = TieredUserSessionKit.Create(_time, out _, out var standard);
        var session = await SignInAsync(store, "ana", cart: 1, name: "Ana");
        var standardPart = store.SplitTicket(session.Ticket!)["standard"];

        Assert.True(await store.RevokeUserSessionAsync("ana", session.Id!));

        Assert.Null(await store.LoadAsync(session.Ticket!));
        var next = store.Open(session.Ticket);
        await next.LoadAsync();
        Assert.False(next.Exists);
        next.Set("name", "someone", ContractJsonContext.Default.String);
        await next.CommitAsync();

        // The write did not land in the signed-in session's part: the new session is anonymous and apart.
        Assert.NotEqual(session.Ticket, next.Ticket);
        Assert.Null((await store.LoadAsync(next.Ticket!))!.UserId);
        Assert.Equal("\"Ana\"", System.Text.Encoding.UTF8.GetString((await standard.LoadAsync(standardPart))!.Values["name"].Span));
    }

    [Fact]
    public async Task RevokeUserSession_ThenABlindWriteOnTheOldTicket_IsNotFoundAndDeletesThePartsItReaches()
    {
        var store = TieredUserSessionKit.Create(_time, out _, out var standard);
        var session = await SignInAsync(store, "ana", cart: 1, name: "Ana");
        var standardPart = store.SplitTicket(session.Ticket!)["standard"];
        await store.RevokeUserSessionAsync("ana", session.Id!);

        var blind = await store.CommitAsync(new SessionCommit
        {
            Ticket = session.Ticket,
            Upserts = new Dictionary<string, ReadOnlyMemory<byte>> { ["name"] = "\"someone\""u8.ToArray() },
        });

        Assert.Equal(SessionCommitOutcome.NotFound, blind.Outcome);
        Assert.Null(await standard.LoadAsync(standardPart));
    }

    [Fact]
    public async Task Load_SignedInPartsPresentedWithoutTheIndexPart_IsNoSession()
    {
        var store = TieredUserSessionKit.Create(_time, out _, out _);
        var session = await SignInAsync(store, "ana", cart: 1, name: "Ana");
        var withoutIndex = new Dictionary<string, string>(store.SplitTicket(session.Ticket!));
        withoutIndex.Remove("critical");

        // Dropping the part a revocation ends must not keep the rest signed in.
        Assert.Null(await store.LoadAsync(store.JoinTicket(withoutIndex)!));
    }

    [Fact]
    public async Task Limit_SignOutByTheIndexTier_EndsTheWholeSessionOfTheSignedOut()
    {
        var store = TieredUserSessionKit.Create(_time, out _, out _, maxSessionsPerUser: 1);
        var first = await SignInAsync(store, "ana", cart: 1, name: "Ana");
        _time.Advance(TimeSpan.FromSeconds(1));

        var second = await SignInAsync(store, "ana", cart: 2, name: "Ana");

        Assert.Null(await store.LoadAsync(first.Ticket!));
        Assert.NotNull(await store.LoadAsync(second.Ticket!));
    }

    [Fact]
    public async Task Limit_RefusedSignIn_WritesNoTier()
    {
        var store = TieredUserSessionKit.Create(_time, out _, out var standard, maxSessionsPerUser: 1, policy: UserSessionLimitPolicy.RefuseNewSession);
        await SignInAsync(store, "ana", cart: 1, name: "Ana");
        var anonymous = store.Open(null);
        anonymous.Set("name", "guest", ContractJsonContext.Default.String);
        await anonymous.CommitAsync();
        var standardPart = store.SplitTicket(anonymous.Ticket!)["standard"];

        var signIn = store.Open(anonymous.Ticket);
        signIn.Set("name", "Ana", ContractJsonContext.Default.String);
        signIn.Set("cart", 3, ContractJsonContext.Default.Int32);
        signIn.BindUser("ana");

        Assert.Equal(SessionCommitOutcome.SessionLimitReached, (await signIn.CommitAsync()).Outcome);
        var part = await standard.LoadAsync(standardPart);
        Assert.Equal(1L, part!.Version);
        Assert.Null(part.UserId);
    }

    [Fact]
    public async Task Traces_OfTheRegisteredTieredStore_NameTheSessionByThePublicIdStateSessionShows()
    {
        // Each tier traces its own part; the index tier's part is the one StateSession.Id and the listing name.
        var tags = new System.Collections.Concurrent.ConcurrentBag<string>();
        using var listener = new System.Diagnostics.ActivityListener
        {
            ShouldListenTo = source => source.Name == StateKitDiagnostics.ActivitySourceName,
            Sample = (ref System.Diagnostics.ActivityCreationOptions<System.Diagnostics.ActivityContext> _) => System.Diagnostics.ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                if (activity.GetTagItem("statekit.session.id") is string tag)
                {
                    tags.Add(tag);
                }
            },
        };
        System.Diagnostics.ActivitySource.AddActivityListener(listener);
        var services = new ServiceCollection();
        services.AddStateKit(kit => kit
            .AddTier("critical", t => t.UseInMemory())
            .AddTier("standard", t => t.UseInMemory())
            .MapKey("cart", "critical")
            .WithDefaultTier("standard"));
        await using var provider = services.BuildServiceProvider();
        var store = provider.GetRequiredService<ISessionStore>();

        var session = store.Open(null);
        session.Set("name", "Ana", ContractJsonContext.Default.String);
        session.BindUser("ana");
        await session.CommitAsync();
        var again = store.Open(session.Ticket);
        await again.LoadAsync();

        Assert.Equal(session.Id, again.Id);
        Assert.Contains(session.Id!, tags);
        Assert.DoesNotContain(SessionIds.ToPublicId(session.BearerId!), tags);
    }

    private static async Task<StateSession> SignInAsync(TieredSessionStore store, string userId, int? cart, string name)
    {
        var session = store.Open(null);
        if (cart is { } c)
        {
            session.Set("cart", c, ContractJsonContext.Default.Int32);
        }

        session.Set("name", name, ContractJsonContext.Default.String);
        session.BindUser(userId, new Dictionary<string, string> { ["ua"] = "Phone" });
        Assert.Equal(SessionCommitOutcome.Committed, (await session.CommitAsync()).Outcome);
        return session;
    }
}
