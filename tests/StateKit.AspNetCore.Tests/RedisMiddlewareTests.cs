using System.Net.Http;
using System.Threading.Tasks;
using StateKit.DependencyInjection;
using StateKit.Redis.Testing;

namespace StateKit.AspNetCore.Tests;

/// <summary>The HTTP contract on a real Redis server, plus what only a store that merges per key can promise.</summary>
public sealed class RedisMiddlewareTests(RedisFixture redis) : MiddlewareContract, IClassFixture<RedisFixture>
{
    protected override void Configure(StateKitBuilder kit, int? maxPayloadBytes = null) => TestStores.ConfigureRedis(kit, redis, maxPayloadBytes);

    [Fact]
    public async Task ISessionAdapter_TwoConcurrentRequestsChangingDifferentKeys_BothSurvive()
    {
        await using var app = await TestApp.StartAsync(kit => Configure(kit), Endpoints.Map);
        await app.Client.PostAsync("/legacy/seed/1");
        var cookie = "__Host-statekit=" + app.Client.Cookies["__Host-statekit"];

        // Repeated, so that the two requests really overlap on some rounds: each loads, then writes its own key.
        for (var round = 0; round < 20; round++)
        {
            await Task.WhenAll(
                app.Client.Http.SendAsync(new HttpRequestMessage(HttpMethod.Post, $"/legacy/a/{round}") { Headers = { { "Cookie", cookie } } }),
                app.Client.Http.SendAsync(new HttpRequestMessage(HttpMethod.Post, $"/legacy/b/{round}") { Headers = { { "Cookie", cookie } } }));

            Assert.Equal(round.ToString(System.Globalization.CultureInfo.InvariantCulture), await app.Client.GetStringAsync("/legacy/a"));
            Assert.Equal(round.ToString(System.Globalization.CultureInfo.InvariantCulture), await app.Client.GetStringAsync("/legacy/b"));
        }

        Assert.Equal("1", await app.Client.GetStringAsync("/legacy/seed"));
    }
}
