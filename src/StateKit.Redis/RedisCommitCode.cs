namespace StateKit.Redis;

/// <summary>The first element of <see cref="RedisScripts.Commit"/>'s reply: what the commit did.</summary>
internal enum RedisCommitCode : long
{
    /// <summary><c>{1, version, expiresAt, previous user or '', absolute expiry}</c>: written.</summary>
    Committed = 1,

    /// <summary><c>{0, previous user or ''}</c>: no key was left, so the session was deleted.</summary>
    Deleted = 0,

    /// <summary><c>{-1}</c>: absent or expired; nothing written, never resurrected.</summary>
    NotFound = -1,

    /// <summary><c>{-2}</c>: a stale base version, or a key someone else changed (per the conflict policy); nothing written.</summary>
    Conflict = -2,

    /// <summary><c>{-3, size}</c>: the session would exceed the payload limit; nothing written.</summary>
    TooLarge = -3,
}
