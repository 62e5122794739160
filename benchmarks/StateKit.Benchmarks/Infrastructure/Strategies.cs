using System;
using System.Collections.Generic;
using System.Security.Cryptography;
using System.Threading.Tasks;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using StackExchange.Redis;
using StateKit.Caching;
using StateKit.ClientSide;
using StateKit.Distributed;
using StateKit.Jwt;
using StateKit.Memory;
using StateKit.Redis;
using StateKit.Sticky;
using StateKit.Tiering;

namespace StateKit.Benchmarks.Infrastructure;

/// <summary>Every strategy the per-request comparison runs, StateKit's and the baselines, in the order the tables show them.</summary>
public enum Strategy
{
    /// <summary>Baseline: ASP.NET Core DistributedSession over RedisCache (Microsoft.Extensions.Caching.StackExchangeRedis).</summary>
    AspNetCoreSessionRedis,

    /// <summary>Baseline: ASP.NET Core DistributedSession over MemoryDistributedCache.</summary>
    AspNetCoreSessionMemory,

    /// <summary>Floor: raw StackExchange.Redis GET then SET of the whole session (2 round trips).</summary>
    RawRedis2RoundTrips,

    /// <summary>Floor: raw StackExchange.Redis GET and SET pipelined in one batch (1 round trip).</summary>
    RawRedis1RoundTrip,

    /// <summary>StateKit in-memory store.</summary>
    InMemory,

    /// <summary>StateKit sticky store: the in-memory store on one node behind an HMAC-signed ticket, no backup.</summary>
    Sticky,

    /// <summary>StateKit Redis store (Lua scripts: 1 round trip per load, 1 per commit).</summary>
    Redis,

    /// <summary>StateKit's IDistributedCache store over RedisCache.</summary>
    DistributedCacheRedis,

    /// <summary>StateKit JWT store, HS256.</summary>
    JwtHs256,

    /// <summary>StateKit JWT store, ES256 (P-256).</summary>
    JwtEs256,

    /// <summary>StateKit sealed client-side store (AES-256-GCM).</summary>
    ClientSideSealed,

    /// <summary>StateKit tiered composite: <c>cart</c> in Redis ("critical"), everything else in memory ("standard").</summary>
    Tiered,

    /// <summary>StateKit Redis store behind the near cache (L1) with an in-process invalidation bus.</summary>
    NearCacheRedis,
}

/// <summary>Builds a configured driver per strategy, over one shared Redis.</summary>
public static class Strategies
{
    /// <summary>Client-held stores stop here: above it a ticket no longer fits a request's headers (Kestrel allows 32 KB in all).</summary>
    public const int ClientHeldMaxPayloadBytes = 4096;

    public static bool NeedsRedis(Strategy strategy) => strategy is Strategy.AspNetCoreSessionRedis or Strategy.RawRedis1RoundTrip
        or Strategy.RawRedis2RoundTrips or Strategy.Redis or Strategy.DistributedCacheRedis or Strategy.Tiered or Strategy.NearCacheRedis;

    public static bool IsClientHeld(Strategy strategy) => strategy is Strategy.JwtHs256 or Strategy.JwtEs256 or Strategy.ClientSideSealed;

    public static RequestDriver Create(Strategy strategy, IConnectionMultiplexer? redis) => strategy switch
    {
        Strategy.AspNetCoreSessionRedis => new AspNetCoreSessionDriver(RedisCache(redis!)),
        Strategy.AspNetCoreSessionMemory => new AspNetCoreSessionDriver(new MemoryDistributedCache(Options.Create(new MemoryDistributedCacheOptions()))),
        Strategy.RawRedis2RoundTrips => new RawRedisDriver(redis!, pipelined: false),
        Strategy.RawRedis1RoundTrip => new RawRedisDriver(redis!, pipelined: true),
        Strategy.InMemory => new StateKitDriver(new InMemorySessionStore(new InMemorySessionStoreOptions())),
        Strategy.Sticky => new StateKitDriver(Sticky()),
        Strategy.Redis => new StateKitDriver(RedisStore(redis!)),
        Strategy.DistributedCacheRedis => new StateKitDriver(new DistributedCacheSessionStore(RedisCache(redis!), new DistributedCacheSessionStoreOptions())),
        Strategy.JwtHs256 => new StateKitDriver(Jwt(new SymmetricSecurityKey(RandomNumberGenerator.GetBytes(32)) { KeyId = "hs" })),
        Strategy.JwtEs256 => new StateKitDriver(Jwt(new ECDsaSecurityKey(ECDsa.Create(ECCurve.NamedCurves.nistP256)) { KeyId = "es" })),
        Strategy.ClientSideSealed => new StateKitDriver(ClientSide()),
        Strategy.Tiered => new StateKitDriver(new TieredSessionStore(
            new Dictionary<string, ISessionStore>
            {
                ["critical"] = RedisStore(redis!),
                ["standard"] = new InMemorySessionStore(new InMemorySessionStoreOptions()),
            },
            new TieredSessionStoreOptions { DefaultTier = "standard" }.MapKey(SessionShape.CartKey, "critical"))),
        Strategy.NearCacheRedis => new StateKitDriver(new NearCacheSessionStore(RedisStore(redis!), new NearCacheOptions(), new InMemorySessionInvalidationBus())),
        _ => throw new ArgumentOutOfRangeException(nameof(strategy), strategy, null),
    };

    /// <summary>The sticky store as one node of a farm: its own in-memory store, one signing key, no backup.</summary>
    public static StickySessionStore Sticky()
    {
        var options = new StickySessionStoreOptions { NodeId = "node-a" };
        options.Keys.Add(new StickyKey { Id = "k1", Secret = RandomNumberGenerator.GetBytes(32) });
        return new StickySessionStore(options);
    }

    public static RedisSessionStore RedisStore(IConnectionMultiplexer redis)
        => new(redis, new RedisSessionStoreOptions { KeyPrefix = "bench:" + Guid.NewGuid().ToString("N")[..8] + ":" });

    public static IDistributedCache RedisCache(IConnectionMultiplexer redis) => new RedisCache(new RedisCacheOptions
    {
        ConnectionMultiplexerFactory = () => Task.FromResult(redis),
        InstanceName = "aspnet:",
    });

    /// <summary>The JWT store with its limits raised to 8 KB of payload (16,000-character tokens) so that the 4 KB case fits; the defaults stop at 1.5 KB.</summary>
    public static JwtSessionStore Jwt(SecurityKey key, int validatedTokenCacheSize = 1000)
    {
        var options = new JwtSessionStoreOptions
        {
            Issuer = "https://bench",
            Audience = "bench",
            MaxPayloadBytes = 8192,
            MaxTokenLength = 16_000,
            ValidatedTokenCacheSize = validatedTokenCacheSize,
        };
        options.SigningKeys.Add(key);
        return new JwtSessionStore(options);
    }

    /// <summary>The sealed store with its limits raised to 8 KB of payload so that the 4 KB case fits; the defaults stop at 2 KB.</summary>
    public static ClientSideSessionStore ClientSide()
    {
        var options = new ClientSideSessionStoreOptions { Purpose = "bench", MaxPayloadBytes = 8192, MaxTicketLength = 16_000 };
        options.Keys.Add(ClientSideKey.Generate(1));
        return new ClientSideSessionStore(options);
    }
}
