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
    private readonly string _expiryClaim = prefix + "x:{";
    private readonly string _userLeases = prefix + "ul:{";

    public RedisKey Session(string id) => _session + id + "}";

    public RedisKey User(string userId) => _user + userId + "}";

    /// <summary>The user's bind leases (id to deadline), in the same slot as <see cref="User"/>: see <see cref="RedisScripts.IndexAddLimited"/>.</summary>
    public RedisKey UserLeases(string userId) => _userLeases + userId + "}";

    /// <summary>The key one node sets (NX) to be the one that reports a session's expiry: in the session's own slot.</summary>
    public RedisKey ExpiryClaim(string id) => _expiryClaim + id + "}";

    /// <summary>The session id in a session key (from a keyspace notification), or <see langword="null"/> for any other key.</summary>
    public string? SessionIdOf(string key)
    {
        if (key.Length != _session.Length + SessionIds.Length + 1 || !key.StartsWith(_session, System.StringComparison.Ordinal) || key[^1] != '}')
        {
            return null;
        }

        var id = key.Substring(_session.Length, SessionIds.Length);
        return SessionIds.IsWellFormed(id) ? id : null;
    }
}
