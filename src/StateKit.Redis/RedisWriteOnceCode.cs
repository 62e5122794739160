namespace StateKit.Redis;

/// <summary>The reply of the scripts that write a new key only if it does not exist: <see cref="RedisScripts.Create"/> and <see cref="RedisScripts.Import"/>.</summary>
internal enum RedisWriteOnceCode : long
{
    /// <summary>Written.</summary>
    Written = 1,

    /// <summary>The key already existed (an id collision): nothing written.</summary>
    KeyExists = 0,
}
