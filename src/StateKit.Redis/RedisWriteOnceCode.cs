namespace StateKit.Redis;

/// <summary>The reply of the scripts that write a new key only if it does not exist: <see cref="RedisScripts.Create"/> and <see cref="RedisScripts.Import"/>.</summary>
internal enum RedisWriteOnceCode : long
{
    /// <summary>Written.</summary>
    Written = 1,

    /// <summary>The key already existed (an id collision): nothing written.</summary>
    KeyExists = 0,

    /// <summary>A tombstone holds the id (given up by a sign-out everywhere or a prune while this write was in flight): nothing written.</summary>
    Tombstoned = -1,
}
