using StateKit.Redis.Testing;

namespace StateKit.Redis.Tests.Servers;

/// <summary>
/// A test that needs real <c>redis-server</c> processes it can kill and restart (a replica, an outage). Where the binary
/// is missing it reports itself skipped, saying why, unless <c>STATEKIT_REQUIRE_REDIS_SERVER=1</c> makes that a failure.
/// Garnet cannot stand in: it has no <c>WAIT</c>, no replication and runs in-process.
/// </summary>
public sealed class ReplicaFactAttribute : FactAttribute
{
    public ReplicaFactAttribute()
    {
        if (!RedisServerAvailability.IsOnPath && !RedisServerAvailability.IsRequired)
        {
            Skip = "Needs redis-server processes that can be killed and restarted (a replica, an outage): apt-get install redis-server; CI sets STATEKIT_REQUIRE_REDIS_SERVER=1 and runs it.";
        }
    }
}
