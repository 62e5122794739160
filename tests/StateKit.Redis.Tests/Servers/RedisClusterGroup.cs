using StateKit.Redis.Testing;

namespace StateKit.Redis.Tests.Servers;

/// <summary>One cluster for every cluster test class: three servers and a cluster handshake are worth sharing.</summary>
[CollectionDefinition(Name)]
public sealed class RedisClusterGroup : ICollectionFixture<RedisClusterFixture>
{
    public const string Name = "redis-cluster";
}
