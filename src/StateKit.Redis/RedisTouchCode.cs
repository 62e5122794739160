namespace StateKit.Redis;

/// <summary><see cref="RedisScripts.Touch"/>'s reply.</summary>
internal enum RedisTouchCode : long
{
    /// <summary>Live: the idle deadline slid.</summary>
    Live = 1,

    /// <summary>Absent or expired (and deleted).</summary>
    Gone = 0,
}
