using System;
using System.Buffers.Text;
using System.Collections.Generic;
using System.IdentityModel.Tokens.Jwt;
using System.Security.Cryptography;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using StateKit.Benchmarks.Infrastructure;
using StateKit.Jwt;

namespace StateKit.Benchmarks;

/// <summary>
/// HS256 tokens carrying a 256 B session. CreateValidate: issue a token, then accept it on the next request — raw
/// <see cref="JsonWebTokenHandler"/> <c>CreateToken</c> + <c>ValidateTokenAsync</c> (baseline) vs
/// <see cref="JwtSecurityTokenHandler"/> vs StateKit's JWT store (commit a new session, then load its ticket, which also reads
/// the session out of the claims). The store runs twice: <c>StateKitJwtStore</c> with its defaults, where the commit remembers
/// the token it just signed and the load finds it there without checking the signature (what the default store does when a
/// client presents the token it was last given to the node that issued it); <c>StateKitJwtStore_CacheOff</c> with the
/// token cache off, so the load validates the token in full: the store's honest create + validate cost next to the raw
/// handler's. PresentedToken: a request that presents an unchanged token — raw <c>ValidateTokenAsync</c> (baseline) vs the
/// store's <c>LoadAsync</c>.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class JwtBenchmarks
{
    private const string Issuer = "https://bench";
    private const string Audience = "bench";
    private readonly JsonWebTokenHandler _jsonHandler = new() { SetDefaultTimesOnTokenCreation = false, MapInboundClaims = false };
    private readonly JwtSecurityTokenHandler _jwtHandler = new() { SetDefaultTimesOnTokenCreation = false, MapInboundClaims = false };
    private SymmetricSecurityKey _key = null!;
    private TokenValidationParameters _validation = null!;
    private JwtSessionStore _store = null!;
    private JwtSessionStore _storeWithoutCache = null!;
    private SessionShape _shape = null!;
    private string _state = null!;
    private string _rawToken = null!;
    private string _storeTicket = null!;

    [GlobalSetup]
    public async Task Setup()
    {
        _key = new SymmetricSecurityKey(RandomNumberGenerator.GetBytes(32)) { KeyId = "hs" };
        _validation = new TokenValidationParameters
        {
            ValidIssuer = Issuer,
            ValidAudience = Audience,
            ValidateIssuer = true,
            ValidateAudience = true,
            RequireAudience = true,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            ClockSkew = TimeSpan.FromSeconds(30),
            RequireSignedTokens = true,
            ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
            IssuerSigningKey = _key,
        };
        _store = Strategies.Jwt(_key);
        _storeWithoutCache = Strategies.Jwt(_key, validatedTokenCacheSize: 0);
        _shape = new SessionShape(256);

        // The same amount of state as the store carries: 256 B of values, base64url in one private claim.
        var state = new byte[256 + 40];
        Random.Shared.NextBytes(state);
        _state = Base64Url.EncodeToString(state);
        _rawToken = _jsonHandler.CreateToken(Descriptor());
        var driver = new StateKitDriver(_store);
        await driver.SeedAsync(_shape);
        _storeTicket = driver.Ticket;
        if (await _store.LoadAsync(_storeTicket) is null || !(await _jsonHandler.ValidateTokenAsync(_rawToken, _validation)).IsValid)
        {
            throw new InvalidOperationException("Tokens do not validate.");
        }
    }

    [Benchmark(Baseline = true), BenchmarkCategory("CreateValidate")]
    public async Task<bool> RawJsonWebTokenHandler()
    {
        var token = _jsonHandler.CreateToken(Descriptor());
        var result = await _jsonHandler.ValidateTokenAsync(token, _validation);
        return result.IsValid;
    }

    [Benchmark, BenchmarkCategory("CreateValidate")]
    public async Task<bool> JwtSecurityTokenHandler()
    {
        var token = _jwtHandler.CreateEncodedJwt(Descriptor());
        var result = await _jwtHandler.ValidateTokenAsync(token, _validation);
        return result.IsValid;
    }

    /// <summary>Defaults: the commit remembers the token it signed, so the load skips signature validation (not a full validation).</summary>
    [Benchmark, BenchmarkCategory("CreateValidate")]
    public async Task<bool> StateKitJwtStore()
    {
        var session = new StateSession(_store, null);
        foreach (var (key, value) in _shape.All())
        {
            session.SetBytes(key, value);
        }

        var commit = await session.CommitAsync();
        return await _store.LoadAsync(commit.Ticket!) is not null;
    }

    /// <summary>Token cache off: issue, then validate in full with the handler: the store's create + validate cost, nothing remembered.</summary>
    [Benchmark, BenchmarkCategory("CreateValidate")]
    public async Task<bool> StateKitJwtStore_CacheOff()
    {
        var session = new StateSession(_storeWithoutCache, null);
        foreach (var (key, value) in _shape.All())
        {
            session.SetBytes(key, value);
        }

        var commit = await session.CommitAsync();
        return await _storeWithoutCache.LoadAsync(commit.Ticket!) is not null;
    }

    [Benchmark(Baseline = true), BenchmarkCategory("PresentedToken")]
    public async Task<bool> RawValidateTokenAsync() => (await _jsonHandler.ValidateTokenAsync(_rawToken, _validation)).IsValid;

    [Benchmark, BenchmarkCategory("PresentedToken")]
    public async Task<bool> StateKitLoadUnchangedToken() => await _store.LoadAsync(_storeTicket) is not null;

    private SecurityTokenDescriptor Descriptor()
    {
        var now = DateTime.UtcNow;
        return new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = Audience,
            IssuedAt = now,
            NotBefore = now,
            Expires = now.AddMinutes(20),
            SigningCredentials = new SigningCredentials(_key, SecurityAlgorithms.HmacSha256),
            Claims = new Dictionary<string, object>
            {
                [Microsoft.IdentityModel.JsonWebTokens.JwtRegisteredClaimNames.Sid] = "sid-0123456789abcdef",
                [Microsoft.IdentityModel.JsonWebTokens.JwtRegisteredClaimNames.Jti] = "jti-0123456789abcdef",
                ["stk"] = _state,
            },
        };
    }
}
