using StackExchange.Redis;

namespace StateKit.Redis;

/// <summary>
/// Where things live: a session is the hash <c>&lt;prefix&gt;s:{id}</c>, a user's index the set <c>&lt;prefix&gt;u:{user}</c>.
/// The braces are Redis Cluster hash tags: each session and each index is its own slot, so every script touches one node.
/// </summary>
internal sealed class RedisKeys(string prefix)
{
    private readonly string _session = prefix + "s:{";
    private readonly string _user = prefix + "u:{";

    public RedisKey Session(string id) => _session + id + "}";

    public RedisKey User(string userId) => _user + userId + "}";
}
