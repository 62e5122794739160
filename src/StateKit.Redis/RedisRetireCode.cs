namespace StateKit.Redis;

/// <summary><see cref="RedisScripts.Retire"/>'s reply: whether rotation could delete the old session.</summary>
internal enum RedisRetireCode : long
{
    /// <summary>Deleted: nobody wrote it since the copy.</summary>
    Retired = 1,

    /// <summary>Kept: written since the copy, so the copy is stale.</summary>
    ChangedMeanwhile = 0,

    /// <summary>Already gone (revoked or expired).</summary>
    Gone = -1,
}
