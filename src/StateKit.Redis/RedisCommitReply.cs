using System;
using StackExchange.Redis;

namespace StateKit.Redis;

/// <summary><see cref="RedisScripts.Commit"/>'s reply, read by position as <see cref="RedisCommitCode"/> documents it.</summary>
internal readonly struct RedisCommitReply(RedisResult reply)
{
    private readonly RedisResult[] _items = (RedisResult[])reply!;

    public RedisCommitCode Code => (RedisCommitCode)(long)_items[0];

    /// <summary>Gets a value indicating whether anything was written: a missing replica acknowledgement fails only a write.</summary>
    public bool Wrote => Code is RedisCommitCode.Committed or RedisCommitCode.Deleted;

    /// <summary>Gets the new version (<see cref="RedisCommitCode.Committed"/>).</summary>
    public long Version => (long)_items[1];

    /// <summary>Gets the idle or absolute deadline, whichever is first (<see cref="RedisCommitCode.Committed"/>).</summary>
    public DateTimeOffset ExpiresAt => RedisFields.FromMs((long)_items[2]);

    /// <summary>Gets the user the session was bound to before this commit, or empty (<see cref="RedisCommitCode.Committed"/>).</summary>
    public string? PreviousUser => (string?)_items[3];

    /// <summary>Gets the absolute deadline (<see cref="RedisCommitCode.Committed"/>).</summary>
    public DateTimeOffset AbsoluteExpiresAt => RedisFields.FromMs((long)_items[4]);

    /// <summary>Gets the user the deleted session was bound to, or empty (<see cref="RedisCommitCode.Deleted"/>).</summary>
    public string? DeletedUser => (string?)_items[1];

    /// <summary>Gets the size the session would have had (<see cref="RedisCommitCode.TooLarge"/>).</summary>
    public long Size => (long)_items[1];

    public static bool WroteAnything(RedisResult reply) => new RedisCommitReply(reply).Wrote;
}
