using System;
using StateKit.Redis.Testing;

namespace StateKit.Samples.Tests;

/// <summary>
/// A test that freezes, kills and restarts a real <c>redis-server</c> process. Where the binary is missing it reports
/// itself skipped, saying why, unless <c>STATEKIT_REQUIRE_REDIS_SERVER=1</c> (set by CI) makes that a failure. Garnet
/// cannot stand in: it runs in-process, so it can be neither frozen nor killed.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class OutageFactAttribute : FactAttribute
{
    public OutageFactAttribute()
    {
        if (!RedisServerAvailability.IsOnPath && !RedisServerAvailability.IsRequired)
        {
            Skip = "Needs a redis-server process to freeze, kill and restart: apt-get install redis-server; CI sets STATEKIT_REQUIRE_REDIS_SERVER=1 and runs it.";
        }
    }
}
