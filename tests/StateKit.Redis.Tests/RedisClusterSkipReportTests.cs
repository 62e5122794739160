using StateKit.Redis.Tests.Servers;
using StateKit.Redis.Testing;

namespace StateKit.Redis.Tests;

/// <summary>Says, as a skipped test, when the cluster contract suite was not built because redis-server was missing.</summary>
public sealed class RedisClusterSkipReportTests
{
#if STATEKIT_REDIS_SERVER
    [Fact]
    public void ClusterContractSuite_WasBuilt() => Assert.True(RedisServerAvailability.IsOnPath, "built with redis-server on PATH, but it is gone at run time");
#else
    [ClusterFact]
    public void ClusterContractSuite_WasBuilt() => Assert.Fail(
        $"The cluster contract suite was not compiled: redis-server was not on PATH when this project was built. {RedisServerAvailability.MissingMessage}");
#endif
}
