namespace StateKit.Redis;

/// <summary><see cref="RedisScripts.Touch"/>'s reply.</summary>
internal enum RedisTouchCode : long
{
    /// <summary>Live: the idle deadline slid.</summary>
    Live = 1,

    /// <summary>Absent (never written, revoked, or removed by its Redis TTL).</summary>
    Gone = 0,

    /// <summary>Past its idle deadline by the store's clock, before its Redis TTL fired: deleted by the script.</summary>
    ExpiredIdle = 2,

    /// <summary>Past its absolute deadline by the store's clock, before its Redis TTL fired: deleted by the script.</summary>
    ExpiredAbsolute = 3,
}
