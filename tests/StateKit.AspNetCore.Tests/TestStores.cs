using System;
using System.Linq;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.Tokens;
using StateKit.ClientSide;
using StateKit.DependencyInjection;
using StateKit.Jwt;
using StateKit.Redis;
using StateKit.Redis.Testing;

namespace StateKit.AspNetCore.Tests;

/// <summary>Each store, configured the way an app would, for the tests that run per store.</summary>
internal static class TestStores
{
    public static readonly byte[] SealKey = Enumerable.Range(0, 32).Select(i => (byte)(200 - i)).ToArray();

    public static readonly byte[] JwtKey = Enumerable.Range(0, 32).Select(i => (byte)(i * 7)).ToArray();

    public static void Configure(string name, StateKitBuilder kit, int? maxPayloadBytes = null)
    {
        switch (name)
        {
            case "memory":
                kit.UseInMemory(o => o.MaxPayloadBytes = maxPayloadBytes ?? o.MaxPayloadBytes);
                break;
            case "distributed-cache":
                kit.Services.AddDistributedMemoryCache();
                kit.UseDistributedCache(o => o.MaxPayloadBytes = maxPayloadBytes ?? o.MaxPayloadBytes);
                break;
            case "clientside":
                kit.UseClientSide(o =>
                {
                    o.Keys.Add(new ClientSideKey(1, SealKey));
                    o.MaxPayloadBytes = maxPayloadBytes ?? o.MaxPayloadBytes;
                    o.MaxTicketLength = 64 * 1024;
                });
                break;
            case "jwt":
                kit.UseJwt(o =>
                {
                    o.Issuer = "https://tests.statekit";
                    o.Audience = "tests";
                    o.SigningKeys.Add(new SymmetricSecurityKey(JwtKey) { KeyId = "k1" });
                    o.MaxPayloadBytes = maxPayloadBytes ?? o.MaxPayloadBytes;
                });
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(name), name, null);
        }
    }

    /// <summary>The Redis store on a test server of its own, with a key prefix no other test uses.</summary>
    public static void ConfigureRedis(StateKitBuilder kit, RedisFixture redis, int? maxPayloadBytes = null)
    {
        kit.UseRedis(redis.Configuration, o =>
        {
            o.KeyPrefix = RedisFixture.UniquePrefix("aspnetcore");
            o.MaxPayloadBytes = maxPayloadBytes ?? o.MaxPayloadBytes;
        }).WithCircuitBreaker(b => b.Timeout = RedisFixture.PatientCallTimeout);
    }
}
