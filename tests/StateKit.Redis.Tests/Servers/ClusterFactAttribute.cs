using StateKit.Redis.Testing;

namespace StateKit.Redis.Tests.Servers;

/// <summary>
/// A test that needs a Redis Cluster built from real <c>redis-server</c> processes. Where the binary is missing it reports
/// itself skipped, saying why, unless <c>STATEKIT_REQUIRE_REDIS_SERVER=1</c> makes the missing binary a failure.
/// </summary>
public sealed class ClusterFactAttribute : FactAttribute
{
    public ClusterFactAttribute()
    {
        if (!RedisServerAvailability.IsOnPath && !RedisServerAvailability.IsRequired)
        {
            Skip = "Redis Cluster tests need redis-server and redis-cli on PATH (apt-get install redis-server); CI sets STATEKIT_REQUIRE_REDIS_SERVER=1 and runs them.";
        }
    }
}
