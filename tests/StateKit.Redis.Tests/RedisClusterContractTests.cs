#if STATEKIT_REDIS_SERVER
using StateKit.Redis.Tests.Servers;
using StateKit.Redis.Testing;
using StateKit.Testing;

namespace StateKit.Redis.Tests;

/// <summary>
/// The shared contract suite against a 3-master Redis Cluster. Compiled only where the build found redis-server on PATH
/// (see the csproj): the suite's inherited [Fact]s cannot skip themselves, and <see cref="RedisClusterSkipReportTests"/>
/// reports the skip where it is not compiled.
/// </summary>
[Collection(RedisClusterGroup.Name)]
public sealed class RedisClusterContractTests(RedisClusterFixture cluster) : SessionStoreContract
{
    protected override ISessionStore CreateStore() => new RedisSessionStore(
        cluster.Redis,
        new RedisSessionStoreOptions
        {
            IdleTimeout = IdleTimeout,
            AbsoluteLifetime = AbsoluteLifetime,
            MaxPayloadBytes = MaxPayloadBytes,
            KeyPrefix = RedisFixture.UniquePrefix("cluster-contract"),
        },
        Time);
}
#endif
