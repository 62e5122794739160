namespace StateKit.Redis;

/// <summary>
/// What a <see cref="SessionCommitMode.MergeKeys"/> commit from a stale version does when a key it writes was also
/// written (or removed) by another request since it loaded.
/// </summary>
public enum KeyConflictPolicy
{
    /// <summary>The commit's value wins for that key; keys it did not touch keep what others wrote. The ASP.NET Core session's behaviour, per key instead of per session.</summary>
    LastWriterWins = 0,

    /// <summary>The whole commit is refused with <see cref="SessionCommitOutcome.Conflict"/> and nothing is written.</summary>
    Conflict = 1,
}
