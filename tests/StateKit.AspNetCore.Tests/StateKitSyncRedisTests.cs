using System;
using System.Linq;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using StateKit.Redis.Testing;

namespace StateKit.AspNetCore.Tests;

/// <summary>The sync endpoint on a real redis-server: the store's compare-and-set is what keeps concurrent batches whole.</summary>
public sealed class StateKitSyncRedisTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    private const string Cookie = "__Host-statekit";

    [Fact]
    public async Task ManyClientsSyncingOneCartAtOnce_CountersEndExactlyRight()
    {
        await using var app = await TestApp.StartAsync(
            kit => TestStores.ConfigureRedis(kit, redis),
            app => app.MapStateKitSync("/statekit/sync", o =>
            {
                o.Keys["cart"] = SyncPolicy.LastWriterWins;
                o.MaxAttempts = 4;
            }));
        var seed = new SyncClient(app.Client);
        Assert.Equal(200, (await seed.SendAsync(SyncClient.Add("seed", "cart", "tea", 1, 0))).HttpStatus);
        var cookie = app.Client.Cookies[Cookie];

        // Every client starts its batches together, each from the version it saw before going offline. A batch that
        // loses MaxAttempts races is answered 409 with nothing applied and is sent again, as the JavaScript client does:
        // the same operation ids, so a batch applied once is never counted twice.
        const int Clients = 12, Batches = 4;
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var contended = 0;
        var runs = Enumerable.Range(0, Clients).Select(c => Task.Run(async () =>
        {
            var client = new SyncClient(new CookieClient(app.Client.Http) { Cookies = { [Cookie] = cookie } });
            await start.Task;
            for (var b = 0; b < Batches; b++)
            {
                var batch = SyncClient.Batch(
                    SyncClient.Add($"c{c}-b{b}-tea", "cart", "tea", 2, 1),
                    SyncClient.Add($"c{c}-b{b}-mug", "cart", "mug", 1, 1),
                    SyncClient.Add($"c{c}-b{b}-cup", "cart", "cup", -1, 1));
                SyncReply reply;
                while ((reply = await client.PostAsync(batch)).HttpStatus == 409)
                {
                    Interlocked.Increment(ref contended);
                }

                Assert.Equal(200, reply.HttpStatus);
            }
        })).ToArray();
        start.SetResult();
        await Task.WhenAll(runs);

        Assert.Equal($$"""{"tea":{{1 + (Clients * Batches * 2)}},"mug":{{Clients * Batches}},"cup":{{-Clients * Batches}}}""", await ReadCartAsync(app, cookie));

        // Every batch again, all at once: each was answered before, so nothing moves.
        var again = await Task.WhenAll(Enumerable.Range(0, Clients).Select(c => new SyncClient(new CookieClient(app.Client.Http) { Cookies = { [Cookie] = cookie } })
            .SendAsync(SyncClient.Add($"c{c}-b0-tea", "cart", "tea", 2, 1))));
        Assert.All(again, r => Assert.True(r.HttpStatus == 200 && r.Result(0)["replayed"]!.GetValue<bool>()));
        Assert.Equal($$"""{"tea":{{1 + (Clients * Batches * 2)}},"mug":{{Clients * Batches}},"cup":{{-Clients * Batches}}}""", await ReadCartAsync(app, cookie));
    }

    private static async Task<string?> ReadCartAsync(TestApp app, string cookie)
    {
        var reply = await new SyncClient(new CookieClient(app.Client.Http) { Cookies = { [Cookie] = cookie } }).PostAsync(SyncClient.Read("cart"));
        return reply.Value("cart");
    }
}
