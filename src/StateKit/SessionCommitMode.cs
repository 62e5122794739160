namespace StateKit;

/// <summary>How a store treats a commit whose base version is no longer the stored version.</summary>
public enum SessionCommitMode
{
    /// <summary>
    /// Apply the delta to whatever is stored now: keys this commit did not touch keep the values other requests wrote,
    /// and for a key both wrote the last commit wins. The right mode for a request that sets a few keys.
    /// </summary>
    MergeKeys = 0,

    /// <summary>
    /// Apply the delta only when the stored version still equals <see cref="SessionCommit.Base"/>'s version; otherwise
    /// report <see cref="SessionCommitOutcome.Conflict"/> and write nothing. The right mode for read-modify-write, such as a counter.
    /// </summary>
    RequireBaseVersion = 1,
}
