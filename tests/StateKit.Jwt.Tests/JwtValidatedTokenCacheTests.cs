using System;
using System.Threading.Tasks;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.Tokens;
using StateKit.Testing;

namespace StateKit.Jwt.Tests;

/// <summary>
/// The cache of validated tokens makes a request that presents an unchanged token cheap; it must never make a token
/// acceptable that a full validation would reject.
/// </summary>
public sealed class JwtValidatedTokenCacheTests
{
    private static readonly DateTimeOffset Epoch = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(Epoch);
    private readonly SymmetricSecurityKey _hmac = JwtTestKeys.Hmac("h1");

    [Fact]
    public async Task Load_SameTokenTwice_ReturnsTheRememberedSession()
    {
        var store = new JwtSessionStore(JwtTestKeys.Options(_hmac), _time);
        var token = await NewTokenAsync(store);

        var first = await store.LoadAsync(token);
        var second = await store.LoadAsync(token);

        Assert.NotNull(first);
        Assert.Same(first, second);
    }

    [Fact]
    public async Task Load_RememberedToken_IsRejectedOnceItsSessionIdledOut()
    {
        var store = new JwtSessionStore(JwtTestKeys.Options(_hmac), _time);
        var token = await NewTokenAsync(store);
        Assert.NotNull(await store.LoadAsync(token));

        _time.Advance(SessionStoreContract.IdleTimeout - TimeSpan.FromSeconds(1));
        Assert.NotNull(await store.LoadAsync(token));
        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.Null(await store.LoadAsync(token));
        Assert.Null(await store.LoadAsync(token));
    }

    [Fact]
    public async Task Load_RememberedToken_IsRejectedOnceTheAbsoluteLifetimeEnds()
    {
        var store = new JwtSessionStore(JwtTestKeys.Options(_hmac), _time);
        var token = await NewTokenAsync(store);

        // Keep the session active (each commit re-issues the token) until just before the absolute deadline.
        var step = SessionStoreContract.IdleTimeout / 2;
        var elapsed = TimeSpan.Zero;
        while (elapsed + step < SessionStoreContract.AbsoluteLifetime)
        {
            _time.Advance(step);
            elapsed += step;
            var session = store.Open(token);
            session.Set("n", (int)(elapsed / step), ContractJsonContext.Default.Int32);
            token = (await session.CommitAsync()).Ticket ?? token;
        }

        Assert.NotNull(await store.LoadAsync(token));
        _time.Advance(SessionStoreContract.AbsoluteLifetime - elapsed);

        Assert.Null(await store.LoadAsync(token));
    }

    [Fact]
    public async Task Load_RememberedToken_IsRejectedOnceRevoked()
    {
        var options = JwtTestKeys.Options(_hmac);
        options.DenyList = JwtTestKeys.DenyList(_time);
        var store = new JwtSessionStore(options, _time);
        var token = await NewTokenAsync(store);
        var loaded = await store.LoadAsync(token);
        Assert.NotNull(await store.LoadAsync(token));

        Assert.True(await store.RevokeAsync(loaded!.Id));

        Assert.Null(await store.LoadAsync(token));
    }

    [Fact]
    public async Task Load_RememberedToken_IsRejectedAfterTheSessionIsDeleted()
    {
        var options = JwtTestKeys.Options(_hmac);
        options.DenyList = JwtTestKeys.DenyList(_time);
        var store = new JwtSessionStore(options, _time);
        var token = await NewTokenAsync(store);
        Assert.NotNull(await store.LoadAsync(token));

        var session = store.Open(token);
        session.Revoke();
        await session.CommitAsync();

        Assert.Null(await store.LoadAsync(token));
    }

    [Fact]
    public async Task Load_AnyOtherStringThanARememberedToken_IsValidatedInFull()
    {
        var store = new JwtSessionStore(JwtTestKeys.Options(_hmac), _time);
        var token = await NewTokenAsync(store);
        Assert.NotNull(await store.LoadAsync(token));

        var lastChar = token[^1] == 'A' ? 'B' : 'A';
        Assert.Null(await store.LoadAsync(token[..^1] + lastChar));
        Assert.Null(await store.LoadAsync(token + "A"));
        Assert.Null(await store.LoadAsync(token[..^1]));
        Assert.NotNull(await store.LoadAsync(token));
    }

    [Fact]
    public async Task Load_TokenOfAnotherStoreWithAnotherKey_IsNotAcceptedThroughTheCache()
    {
        var other = new JwtSessionStore(JwtTestKeys.Options(JwtTestKeys.Hmac("h1", seed: 9)), _time);
        var store = new JwtSessionStore(JwtTestKeys.Options(_hmac), _time);
        var foreign = await NewTokenAsync(other);
        Assert.NotNull(await other.LoadAsync(foreign));

        Assert.Null(await store.LoadAsync(foreign));
    }

    [Fact]
    public async Task Load_ManyTokens_CacheStaysBoundedAndEveryTokenStillLoads()
    {
        var options = JwtTestKeys.Options(_hmac);
        options.ValidatedTokenCacheSize = 2;
        var store = new JwtSessionStore(options, _time);
        var tokens = new string[5];
        for (var i = 0; i < tokens.Length; i++)
        {
            tokens[i] = await NewTokenAsync(store);
        }

        foreach (var token in tokens)
        {
            Assert.NotNull(await store.LoadAsync(token));
        }

        Assert.InRange(store.ValidatedTokenCount, 1, 2);
        foreach (var token in tokens)
        {
            Assert.NotNull(await store.LoadAsync(token));
        }
    }

    [Fact]
    public async Task Load_CacheTurnedOff_RemembersNothing()
    {
        var options = JwtTestKeys.Options(_hmac);
        options.ValidatedTokenCacheSize = 0;
        var store = new JwtSessionStore(options, _time);
        var token = await NewTokenAsync(store);

        var first = await store.LoadAsync(token);
        var second = await store.LoadAsync(token);

        Assert.NotSame(first, second);
        Assert.Equal(0, store.ValidatedTokenCount);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(1_000_001)]
    public void Options_CacheSizeOutOfRange_IsRejectedWithTheFix(int size)
    {
        var options = JwtTestKeys.Options(_hmac);
        options.ValidatedTokenCacheSize = size;

        var e = Assert.Throws<OptionsValidationException>(() => new JwtSessionStore(options, _time));
        Assert.Contains("ValidatedTokenCacheSize", e.Message, StringComparison.Ordinal);
    }

    private static async Task<string> NewTokenAsync(ISessionStore store)
    {
        var session = store.Open(null);
        session.Set("n", 1, ContractJsonContext.Default.Int32);
        return (await session.CommitAsync()).Ticket!;
    }
}
