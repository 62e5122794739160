using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.Extensions.Time.Testing;

namespace StateKit.Testing;

/// <summary>
/// What every <see cref="ISessionLister"/> honours (issue 18), run against a real instance of each store that lists. A store's
/// test project derives one class from this and says how to build the store and how to count a user's index entries.
/// </summary>
public abstract class UserSessionListerContract
{
    /// <summary>The idle timeout every store under this contract is built with.</summary>
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(20);

    /// <summary>The absolute lifetime every store under this contract is built with.</summary>
    public static readonly TimeSpan AbsoluteLifetime = TimeSpan.FromHours(2);

    private readonly Dictionary<string, string> _publicIds = new(StringComparer.Ordinal);
    private ISessionStore? _store;

    /// <summary>The clock every store under this contract reads.</summary>
    protected FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));

    /// <summary>The store under test, built once per test.</summary>
    protected ISessionStore Store => _store ??= CreateStore();

    private ISessionLister Lister => (ISessionLister)Store;

    /// <summary>Builds the store with <see cref="IdleTimeout"/>, <see cref="AbsoluteLifetime"/> and <see cref="Time"/>.</summary>
    protected abstract ISessionStore CreateStore();

    /// <summary>How many entries the user's index holds, dead ones not yet pruned included.</summary>
    protected abstract Task<int> IndexedCountAsync(string userId);

    [Fact]
    public void Capabilities_SayTheStoreLists()
    {
        Assert.True(Store.Capabilities.ListsUserSessions);
        Assert.IsAssignableFrom<ISessionLister>(Store);
    }

    [Fact]
    public async Task List_ShowsEachLiveSessionByPublicIdWithItsTimesAndSignInMetadata()
    {
        var created = Time.GetUtcNow();
        var phone = await SignInAsync("ana", new Dictionary<string, string> { ["ua"] = "Phone", ["ip"] = "192.0.2.1" });
        Time.Advance(TimeSpan.FromMinutes(1));
        var laptop = await SignInAsync("ana", null);
        Time.Advance(TimeSpan.FromMinutes(1));
        Assert.NotNull(await Store.LoadAsync(phone));
        await SignInAsync("bob", null);

        var page = await Lister.ListUserSessionsAsync("ana");

        Assert.Null(page.ContinuationToken);
        Assert.Equal(
            new[] { PublicIdOf(phone), PublicIdOf(laptop) }.Order(StringComparer.Ordinal),
            page.Sessions.Select(s => s.PublicId).Order(StringComparer.Ordinal));
        Assert.DoesNotContain(page.Sessions, s => s.PublicId == phone || s.PublicId == laptop);
        var first = page.Sessions.Single(s => s.PublicId == PublicIdOf(phone));
        Assert.Equal(created, first.CreatedAt);
        Assert.Equal(created + TimeSpan.FromMinutes(2), first.LastActiveAt);
        Assert.Equal("Phone", first.Metadata["ua"]);
        Assert.Equal("192.0.2.1", first.Metadata["ip"]);
        Assert.Empty(page.Sessions.Single(s => s.PublicId == PublicIdOf(laptop)).Metadata);
    }

    [Fact]
    public async Task List_ManySessions_PagesThroughEachOnceWithinThePageSize()
    {
        var tickets = new List<string>();
        for (var i = 0; i < 25; i++)
        {
            tickets.Add(await SignInAsync("ana", null));
        }

        var seen = new List<string>();
        string? token = null;
        var pages = 0;
        do
        {
            var page = await Lister.ListUserSessionsAsync("ana", token, pageSize: 10);
            Assert.InRange(page.Sessions.Count, 0, 10);
            Assert.True(++pages <= 25, "the listing never ends");
            seen.AddRange(page.Sessions.Select(s => s.PublicId));
            token = page.ContinuationToken;
            Assert.DoesNotContain(tickets, t => token?.Contains(t, StringComparison.Ordinal) == true);
        }
        while (token is not null);

        Assert.Equal(tickets.Select(PublicIdOf).Order(StringComparer.Ordinal), seen.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task List_DeadIndexEntries_ArePrunedAsTheListingGoes()
    {
        await SignInAsync("ana", null);
        await SignInAsync("ana", null);
        Time.Advance(IdleTimeout - TimeSpan.FromMinutes(1));
        var live = await SignInAsync("ana", null);
        Time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(3, await IndexedCountAsync("ana"));

        var page = await Lister.ListUserSessionsAsync("ana");

        Assert.Equal(PublicIdOf(live), Assert.Single(page.Sessions).PublicId);
        Assert.Equal(1, await IndexedCountAsync("ana"));
    }

    [Fact]
    public async Task RevokeUserSession_PublicIdFromTheUsersListing_EndsThatSessionOnly()
    {
        var phone = await SignInAsync("ana", null);
        var laptop = await SignInAsync("ana", null);
        var publicId = (await Lister.ListUserSessionsAsync("ana")).Sessions.Single(s => s.PublicId == PublicIdOf(phone)).PublicId;

        Assert.True(await Lister.RevokeUserSessionAsync("ana", publicId));

        Assert.Null(await Store.LoadAsync(phone));
        Assert.NotNull(await Store.LoadAsync(laptop));
        Assert.Equal(PublicIdOf(laptop), Assert.Single((await Lister.ListUserSessionsAsync("ana")).Sessions).PublicId);
        Assert.False(await Lister.RevokeUserSessionAsync("ana", publicId));
    }

    [Fact]
    public async Task RevokeUserSession_PublicIdFromAnotherUsersListing_EndsAndLoadsNothing()
    {
        var victim = await SignInAsync("ana", null);
        await SignInAsync("mallory", null);
        var stolen = Assert.Single((await Lister.ListUserSessionsAsync("ana")).Sessions).PublicId;

        Assert.False(await Lister.RevokeUserSessionAsync("mallory", stolen));
        Assert.Null(await Store.LoadAsync(stolen));
        Assert.False(await Store.RevokeAsync(stolen));

        Assert.NotNull(await Store.LoadAsync(victim));
        Assert.Single((await Lister.ListUserSessionsAsync("ana")).Sessions);
    }

    [Fact]
    public async Task RevokeUserSession_NotAPublicId_EndsNothing()
    {
        var ticket = await SignInAsync("ana", null);

        // The bearer id itself is not a public id: the listing's revocation never takes one.
        Assert.False(await Lister.RevokeUserSessionAsync("ana", ticket));
        Assert.False(await Lister.RevokeUserSessionAsync("ana", "not a public id"));
        Assert.NotNull(await Store.LoadAsync(ticket));
    }

    [Fact]
    public async Task List_BadPageSizeOrToken_ThrowsTypedErrors()
    {
        await SignInAsync("ana", null);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Lister.ListUserSessionsAsync("ana", pageSize: 0).AsTask());
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Lister.ListUserSessionsAsync("ana", pageSize: UserSessionPage.MaxPageSize + 1).AsTask());
        await Assert.ThrowsAsync<ArgumentException>(() => Lister.ListUserSessionsAsync("ana", "garbage!").AsTask());
        Assert.Single((await Lister.ListUserSessionsAsync("ana")).Sessions);
    }

    [Fact]
    public async Task Commit_SignInMetadataOverTheBounds_IsRefusedAndWritesNothing()
    {
        var tooMany = Enumerable.Range(0, 9).ToDictionary(i => "k" + i, i => "v");
        var session = Store.Open(null);
        Assert.Throws<ArgumentException>(() => session.BindUser("ana", tooMany));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.CommitAsync(new SessionCommit
        {
            Upserts = new Dictionary<string, ReadOnlyMemory<byte>> { ["n"] = new byte[] { 1 } },
            BindUserId = "ana",
            SignInMetadata = new Dictionary<string, string> { ["ua"] = new string('x', 513) },
        }).AsTask());

        Assert.Empty((await Lister.ListUserSessionsAsync("ana")).Sessions);
    }

    /// <summary>
    /// The public id <see cref="StateSession.Id"/> showed for the session <see cref="SignInAsync"/> returned this ticket for:
    /// what an app compares a listing with to mark the current session. A store whose tickets are not its session ids (sticky,
    /// tiered) must list the same.
    /// </summary>
    protected string PublicIdOf(string ticket) => _publicIds[ticket];

    /// <summary>
    /// Signs <paramref name="userId"/> in <paramref name="count"/> times, <paramref name="parallel"/> at once, then walks the
    /// whole listing at the largest page size: no page holds more, and every session is listed.
    /// </summary>
    protected async Task AssertPagesThroughManySessionsAsync(string userId, int count, int parallel)
    {
        var signedIn = new HashSet<string>(StringComparer.Ordinal);
        for (var done = 0; done < count; done += parallel)
        {
            signedIn.UnionWith(await Task.WhenAll(Enumerable.Range(0, Math.Min(parallel, count - done)).Select(async _ =>
            {
                var session = Store.Open(null);
                session.Set("n", 1, ContractJsonContext.Default.Int32);
                session.BindUser(userId);
                Assert.Equal(SessionCommitOutcome.Committed, (await session.CommitAsync()).Outcome);
                return session.Id!;
            })));
        }

        // A scan may return an entry twice (SSCAN during a rehash): a set, so only the bound and the coverage are asserted.
        var listed = new HashSet<string>(StringComparer.Ordinal);
        string? token = null;
        var pages = 0;
        do
        {
            var page = await Lister.ListUserSessionsAsync(userId, token, UserSessionPage.MaxPageSize);
            Assert.InRange(page.Sessions.Count, 0, UserSessionPage.MaxPageSize);
            listed.UnionWith(page.Sessions.Select(s => s.PublicId));
            token = page.ContinuationToken;
            Assert.True(++pages <= count, "the listing never ends");
        }
        while (token is not null);

        Assert.Equal(count, signedIn.Count);
        Assert.True(signedIn.SetEquals(listed), $"{signedIn.Count} signed in, {listed.Count} listed, {signedIn.Intersect(listed).Count()} in both");
    }

    /// <summary>Creates a session bound to <paramref name="userId"/> with <paramref name="metadata"/>, and returns its ticket.</summary>
    protected async Task<string> SignInAsync(string userId, IReadOnlyDictionary<string, string>? metadata)
    {
        var session = Store.Open(null);
        session.Set("n", 1, ContractJsonContext.Default.Int32);
        session.BindUser(userId, metadata);
        var result = await session.CommitAsync();
        Assert.Equal(SessionCommitOutcome.Committed, result.Outcome);
        _publicIds[result.Ticket!] = session.Id!;
        return result.Ticket!;
    }
}
