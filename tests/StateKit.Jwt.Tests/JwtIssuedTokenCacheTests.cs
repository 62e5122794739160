using System;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.Tokens;
using StateKit.Testing;

namespace StateKit.Jwt.Tests;

/// <summary>
/// The store remembers the tokens it issues, so the request that presents one next skips the signature check. A remembered
/// issued token must be judged exactly as a full validation would judge it: same session, same nbf/exp/session deadlines
/// with skew, deny list asked, and only in the store instance that signed it.
/// </summary>
public sealed class JwtIssuedTokenCacheTests
{
    // Not on a whole second or millisecond: tokens carry exp/nbf in seconds and the state in milliseconds.
    private static readonly DateTimeOffset Epoch = new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero).AddTicks(6_543_210);
    private readonly FakeTimeProvider _time = new(Epoch);
    private readonly SymmetricSecurityKey _hmac = JwtTestKeys.Hmac("h1");

    [Fact]
    public async Task Commit_RemembersTheIssuedToken_AndItLoadsAsAFullValidationReadsIt()
    {
        var store = new JwtSessionStore(JwtTestKeys.Options(_hmac), _time);
        var fullValidation = new JwtSessionStore(Uncached(), _time);
        var session = store.Open(null);
        session.SetBytes("cart", "{\"x\":1}"u8);
        session.BindUser("ana");
        await session.CommitAsync();
        Assert.Equal(1, store.ValidatedTokenCount);
        _time.Advance(TimeSpan.FromTicks(1234));

        var remembered = await store.LoadAsync(session.Ticket!);
        var validated = await fullValidation.LoadAsync(session.Ticket!);

        Assert.NotNull(remembered);
        Assert.NotNull(validated);
        Assert.Equal(validated.Id, remembered.Id);
        Assert.Equal(validated.Version, remembered.Version);
        Assert.Equal(validated.UserId, remembered.UserId);
        Assert.Equal(validated.CreatedAt, remembered.CreatedAt);
        Assert.Equal(validated.LastAccessedAt, remembered.LastAccessedAt);
        Assert.Equal(validated.AbsoluteExpiresAt, remembered.AbsoluteExpiresAt);
        Assert.Equal(validated.IdleTimeout, remembered.IdleTimeout);
        Assert.Equal(validated.ExpiresAt, remembered.ExpiresAt);
        Assert.Equal(validated.Values["cart"].ToArray(), remembered.Values["cart"].ToArray());
        Assert.Same(remembered, await store.LoadAsync(session.Ticket!));
    }

    [Fact]
    public async Task Load_IssuedToken_IsRejectedOnceItsSessionIdlesOut_WithoutEverBeingValidated()
    {
        var store = new JwtSessionStore(JwtTestKeys.Options(_hmac), _time);
        var token = await NewTokenAsync(store);
        Assert.Equal(1, store.ValidatedTokenCount);

        _time.Advance(SessionStoreContract.IdleTimeout - TimeSpan.FromMilliseconds(1));
        Assert.NotNull(await store.LoadAsync(token));
        _time.Advance(TimeSpan.FromMilliseconds(1));

        Assert.Null(await store.LoadAsync(token));
        Assert.Equal(0, store.ValidatedTokenCount);
    }

    [Fact]
    public async Task Load_IssuedToken_IsRejectedAtItsWholeSecondExp_AsAFullValidationRejectsIt()
    {
        // Without skew, exp (whole seconds, truncated) comes before the session's own deadline: it must govern.
        var options = JwtTestKeys.Options(_hmac);
        options.ClockSkew = TimeSpan.Zero;
        var fullOptions = Uncached();
        fullOptions.ClockSkew = TimeSpan.Zero;
        var store = new JwtSessionStore(options, _time);
        var fullValidation = new JwtSessionStore(fullOptions, _time);
        var token = await NewTokenAsync(store);
        var exp = DateTimeOffset.FromUnixTimeSeconds((_time.GetUtcNow() + SessionStoreContract.IdleTimeout).ToUnixTimeSeconds());

        _time.SetUtcNow(exp - TimeSpan.FromTicks(1));
        Assert.NotNull(await fullValidation.LoadAsync(token));
        Assert.NotNull(await store.LoadAsync(token));
        _time.SetUtcNow(exp);

        Assert.Null(await fullValidation.LoadAsync(token));
        Assert.Null(await store.LoadAsync(token));
    }

    [Fact]
    public async Task Load_IssuedToken_IsRejectedWhenTheClockIsBeforeItsNbfWithSkew()
    {
        var clock = new SettableTime(Epoch);
        var store = new JwtSessionStore(JwtTestKeys.Options(_hmac), clock);
        var fullValidation = new JwtSessionStore(Uncached(), clock);
        var token = await NewTokenAsync(store);
        var nbf = DateTimeOffset.FromUnixTimeSeconds(Epoch.ToUnixTimeSeconds());

        clock.Now = nbf - JwtDefaults.ClockSkew;
        Assert.NotNull(await fullValidation.LoadAsync(token));
        Assert.NotNull(await store.LoadAsync(token));
        clock.Now = nbf - JwtDefaults.ClockSkew - TimeSpan.FromTicks(1);

        Assert.Null(await fullValidation.LoadAsync(token));
        Assert.Null(await store.LoadAsync(token));
    }

    [Fact]
    public async Task Load_IssuedToken_IsRejectedOnceRevoked()
    {
        var options = JwtTestKeys.Options(_hmac);
        options.DenyList = JwtTestKeys.DenyList(_time);
        var store = new JwtSessionStore(options, _time);
        var session = store.Open(null);
        session.Set("n", 1, ContractJsonContext.Default.Int32);
        await session.CommitAsync();
        Assert.Equal(1, store.ValidatedTokenCount);

        Assert.True(await store.RevokeAsync(session.BearerId!));

        Assert.Null(await store.LoadAsync(session.Ticket!));
    }

    [Fact]
    public async Task Load_IssuedTokenAfterRotateId_OldTokenIsDeniedNewOneLoads()
    {
        var options = JwtTestKeys.Options(_hmac);
        options.DenyList = JwtTestKeys.DenyList(_time);
        var store = new JwtSessionStore(options, _time);
        var old = await NewTokenAsync(store);
        var session = store.Open(old);
        session.RotateId();
        await session.CommitAsync();

        Assert.Null(await store.LoadAsync(old));
        Assert.NotNull(await store.LoadAsync(session.Ticket!));
    }

    [Fact]
    public async Task Load_TokenIssuedByAnotherStoreInstance_IsNotTrustedThroughItsCache()
    {
        var issuer = new JwtSessionStore(JwtTestKeys.Options(JwtTestKeys.Hmac("h1", seed: 9)), _time);
        var store = new JwtSessionStore(JwtTestKeys.Options(_hmac), _time);
        var sameRing = new JwtSessionStore(JwtTestKeys.Options(JwtTestKeys.Hmac("h1", seed: 9)), _time);
        var foreign = await NewTokenAsync(issuer);
        Assert.Equal(1, issuer.ValidatedTokenCount);

        Assert.Null(await store.LoadAsync(foreign));
        Assert.Equal(0, store.ValidatedTokenCount);

        // A node sharing the ring validates it in full and only then remembers it.
        Assert.Equal(0, sameRing.ValidatedTokenCount);
        Assert.NotNull(await sameRing.LoadAsync(foreign));
        Assert.Equal(1, sameRing.ValidatedTokenCount);
    }

    [Fact]
    public async Task Commit_ManyTokens_CacheStaysBoundedAndEveryTokenStillLoads()
    {
        var options = JwtTestKeys.Options(_hmac);
        options.ValidatedTokenCacheSize = 2;
        var store = new JwtSessionStore(options, _time);
        var tokens = new string[5];
        for (var i = 0; i < tokens.Length; i++)
        {
            tokens[i] = await NewTokenAsync(store);
            Assert.InRange(store.ValidatedTokenCount, 1, 2);
        }

        foreach (var token in tokens)
        {
            Assert.NotNull(await store.LoadAsync(token));
            Assert.InRange(store.ValidatedTokenCount, 1, 2);
        }
    }

    [Fact]
    public async Task Commit_CacheTurnedOff_RemembersNothing()
    {
        var store = new JwtSessionStore(Uncached(), _time);

        var token = await NewTokenAsync(store);

        Assert.Equal(0, store.ValidatedTokenCount);
        Assert.NotNull(await store.LoadAsync(token));
        Assert.Equal(0, store.ValidatedTokenCount);
    }

    [Fact]
    public async Task Commit_TokenOverMaxTokenLength_ThrowsAndIsNotRemembered()
    {
        var options = JwtTestKeys.Options(_hmac);
        options.MaxTokenLength = 600;
        options.MaxPayloadBytes = 100;
        var store = new JwtSessionStore(options, _time);
        var session = store.Open(null);
        session.SetBytes("big", Enumerable.Repeat((byte)'x', 100).ToArray());

        await Assert.ThrowsAsync<SessionPayloadTooLargeException>(async () => await session.CommitAsync());

        Assert.Equal(0, store.ValidatedTokenCount);
    }

    private JwtSessionStoreOptions Uncached()
    {
        var options = JwtTestKeys.Options(_hmac);
        options.ValidatedTokenCacheSize = 0;
        return options;
    }

    private static async Task<string> NewTokenAsync(ISessionStore store)
    {
        var session = store.Open(null);
        session.Set("n", 1, ContractJsonContext.Default.Int32);
        return (await session.CommitAsync()).Ticket!;
    }

    // FakeTimeProvider never goes back; a clock that does shows nbf is still honoured.
    private sealed class SettableTime(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
