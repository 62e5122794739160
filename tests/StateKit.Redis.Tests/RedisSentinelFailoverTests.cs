using System;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using StateKit.DependencyInjection;
using StateKit.Redis.Tests.Servers;
using StateKit.Redis.Testing;
using Xunit.Abstractions;

namespace StateKit.Redis.Tests;

/// <summary>
/// Issue 14: a primary watched by three sentinels dies (<c>kill -9</c>) under load; the sentinels promote its replica,
/// and a store registered with <c>UseRedis("&lt;sentinels&gt;,serviceName=...")</c> follows them on its own, fails typed in
/// between, and loses no commit one replica acknowledged. Measured figures go to docs/redis.md.
/// </summary>
public sealed class RedisSentinelFailoverTests(RedisSentinelFixture sentinels, ITestOutputHelper output) : IClassFixture<RedisSentinelFixture>
{
    [ReplicaFact]
    public async Task PrimaryKilled_UnderLoad_UseRedisFollowsTheSentinelsAndNoAcknowledgedCommitIsLost()
    {
        var prefix = RedisFixture.UniquePrefix("sentinel-failover");
        var defaults = FailoverScenario.Options(sentinels.Configuration, prefix);
        var services = new ServiceCollection();
        services.AddStateKit(kit => kit.UseRedis(defaults.Configuration!, o =>
        {
            o.KeyPrefix = prefix;
            o.RequireReplicaAcks = defaults.RequireReplicaAcks;
        }));
        await using var provider = services.BuildServiceProvider();
        var store = provider.GetRequiredService<ISessionStore>();

        await using var load = new FailoverLoad(store, loops: 4, sessionsPerLoop: 4);
        await load.StartAsync();

        // One primary holds every session: all of them go through the failover.
        var scenario = new FailoverScenario(load, load.Tickets.ToHashSet(StringComparer.Ordinal), output);
        await scenario.WarmUpAsync();
        var replica = sentinels.Replica;
        await scenario.KillAsync(sentinels.Primary.KillAsync);
        scenario.Promoted(await sentinels.WaitForPromotionAsync(replica));

        // The promoted replica has no replica of its own until one is started for it, as an orchestrator replaces a lost node.
        await scenario.WaitForLoadsAsync();
        await scenario.AssertNoAcknowledgementWithoutReplicaAsync(store);
        scenario.Rejoined(await sentinels.StartReplicaAsync(replica));
        await scenario.WaitForCommitsAsync();
        await load.StopAsync();

        await scenario.AssertAsync(store, "Sentinel, a primary + 1 replica + 3 sentinels, down-after-milliseconds 1000");
    }
}
