using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using StateKit.Caching;
using StateKit.DependencyInjection;
using StateKit.Redis.Testing;
using StateKit.Testing;

namespace StateKit.Redis.Tests;

/// <summary>Issue 18: what <c>AddStateKit</c> registers for Redis with a near cache and a breaker lists and ends sessions.</summary>
public sealed class RedisDecoratedRegistrationTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    [Fact]
    public async Task AddStateKit_RedisWithNearCacheAndCircuitBreaker_TheRegisteredStoreListsAndEndsASessionItHasCached()
    {
        var prefix = RedisFixture.UniquePrefix("decorated-di");
        var services = new ServiceCollection();
        services.AddSingleton<IConnectionMultiplexer>(redis.Redis);
        services.AddSingleton<ISessionInvalidationBus>(_ => new RedisSessionInvalidationBus(redis.Redis, prefix));
        services.AddStateKit(kit => kit
            .UseRedis(o => o.KeyPrefix = prefix)
            .WithNearCache()
            .WithCircuitBreaker(o => o.Timeout = RedisFixture.PatientCallTimeout));
        await using var provider = services.BuildServiceProvider();
        var ticket = await RegisteredListerChecks.ListsAndEndsASessionItHasCachedAsync(provider.GetRequiredService<ISessionStore>());

        Assert.False(await redis.Redis.GetDatabase().KeyExistsAsync(new RedisKeys(prefix).Session(ticket)));
    }
}
