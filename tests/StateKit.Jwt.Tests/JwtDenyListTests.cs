using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.Tokens;
using StateKit.Testing;

namespace StateKit.Jwt.Tests;

/// <summary>
/// A denied <c>sid</c> stays denied as long as any node could still accept a token of it. Validation accepts a token up to
/// <see cref="JwtSessionStoreOptions.ClockSkew"/> after its deadline on a node whose clock is that far behind, so every deny
/// entry, whichever path writes it, outlives the tokens it denies by the skew.
/// </summary>
public sealed class JwtDenyListTests
{
    private static readonly DateTimeOffset Epoch = new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero).AddTicks(6_543_210);
    private static readonly TimeSpan Lifetime = TimeSpan.FromHours(1);
    private static readonly TimeSpan Skew = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Behind = TimeSpan.FromSeconds(20);

    // Real time, as the shared deny list's cache and node A see it; node B's clock is Behind seconds late, within the skew.
    private readonly FakeTimeProvider _time = new(Epoch);
    private readonly FakeTimeProvider _late = new(Epoch - Behind);
    private readonly SymmetricSecurityKey _hmac = JwtTestKeys.Hmac("h1");

    [Fact]
    public async Task RevokeAsync_NodeWithALateClock_StillRejectsTheTokenUntilItsDeadlinePlusSkew()
    {
        var denyList = JwtTestKeys.DenyList(_time);
        var a = Node(_time, denyList);
        var b = Node(_late, denyList);
        var token = await NewTokenAsync(a);
        var id = (await b.LoadAsync(token))!.Id;

        Assert.True(await a.RevokeAsync(id));
        Advance(Lifetime + TimeSpan.FromSeconds(10));

        // B's clock says the token has 10 s left; in real time its deadline passed 10 s ago, and the deny entry must still be there.
        Assert.Null(await b.LoadAsync(token));
        Advance(Skew);
        Assert.Null(await b.LoadAsync(token));
    }

    [Fact]
    public async Task CommitRevoke_NodeWithALateClock_StillRejectsTheTokenUntilItsDeadlinePlusSkew()
    {
        var denyList = JwtTestKeys.DenyList(_time);
        var a = Node(_time, denyList);
        var b = Node(_late, denyList);
        var token = await NewTokenAsync(a);
        Assert.NotNull(await b.LoadAsync(token));

        var revoked = await a.CommitAsync(new SessionCommit { Ticket = token, Revoke = true });
        Assert.Equal(SessionCommitOutcome.Deleted, revoked.Outcome);
        Advance(Lifetime + TimeSpan.FromSeconds(10));

        Assert.Null(await b.LoadAsync(token));
    }

    [Fact]
    public async Task Deny_EveryPath_WritesTheDeadlinePlusClockSkew()
    {
        var denyList = new RecordingDenyList();
        var store = Node(_time, denyList);
        var token = await NewTokenAsync(store);
        var session = (await store.LoadAsync(token))!;

        await store.CommitAsync(new SessionCommit { Ticket = token, Revoke = true });
        await store.RevokeAsync("other");

        Assert.Equal([(session.Id, session.ExpiresAt + Skew), ("other", _time.GetUtcNow() + Lifetime + Skew)], denyList.Entries);
    }

    private JwtSessionStore Node(TimeProvider clock, ISessionDenyList denyList)
    {
        var options = JwtTestKeys.Options(_hmac);
        options.IdleTimeout = Lifetime;
        options.AbsoluteLifetime = Lifetime;
        options.ClockSkew = Skew;
        options.DenyList = denyList;
        return new JwtSessionStore(options, clock);
    }

    private void Advance(TimeSpan by)
    {
        _time.Advance(by);
        _late.Advance(by);
    }

    private static async Task<string> NewTokenAsync(ISessionStore store)
    {
        var session = store.Open(null);
        session.Set("n", 1, ContractJsonContext.Default.Int32);
        return (await session.CommitAsync()).Ticket!;
    }

    private sealed class RecordingDenyList : ISessionDenyList
    {
        public List<(string Id, DateTimeOffset Until)> Entries { get; } = [];

        public ValueTask<bool> DenyAsync(string sessionId, DateTimeOffset until, CancellationToken cancellationToken = default)
        {
            Entries.Add((sessionId, until));
            return ValueTask.FromResult(true);
        }

        public ValueTask<bool> IsDeniedAsync(string sessionId, CancellationToken cancellationToken = default)
            => ValueTask.FromResult(Entries.Exists(e => e.Id == sessionId));
    }
}
