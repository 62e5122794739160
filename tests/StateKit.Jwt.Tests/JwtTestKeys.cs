using System;
using System.Linq;
using System.Security.Cryptography;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Internal;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using StateKit.Distributed;
using StateKit.Testing;

namespace StateKit.Jwt.Tests;

/// <summary>Fixed and generated keys for the JWT tests.</summary>
internal static class JwtTestKeys
{
    public static SymmetricSecurityKey Hmac(string kid, byte seed = 1) => new(Enumerable.Range(0, 32).Select(i => (byte)(i + seed)).ToArray()) { KeyId = kid };

    public static ECDsaSecurityKey EcDsa(string kid) => new(ECDsa.Create(ECCurve.NamedCurves.nistP256)) { KeyId = kid };

    public static RsaSecurityKey Rsa(string kid) => new(RSA.Create(2048)) { KeyId = kid };

    public static JwtSessionStoreOptions Options(params SecurityKey[] keys)
    {
        var options = new JwtSessionStoreOptions
        {
            Issuer = "https://tests.statekit",
            Audience = "statekit-tests",
            IdleTimeout = SessionStoreContract.IdleTimeout,
            AbsoluteLifetime = SessionStoreContract.AbsoluteLifetime,
            MaxPayloadBytes = SessionStoreContract.MaxPayloadBytes,
            MaxTokenLength = 64 * 1024,
        };
        foreach (var key in keys)
        {
            options.SigningKeys.Add(key);
        }

        return options;
    }

    public static DistributedCacheSessionDenyList DenyList(TimeProvider time) => new(
        new MemoryDistributedCache(Microsoft.Extensions.Options.Options.Create(new MemoryDistributedCacheOptions { Clock = new Clock(time) })));

    private sealed class Clock(TimeProvider time) : ISystemClock
    {
        public DateTimeOffset UtcNow => time.GetUtcNow();
    }
}
