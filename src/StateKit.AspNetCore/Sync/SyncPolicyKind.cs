namespace StateKit.AspNetCore;

/// <summary>Which of the built-in <see cref="SyncPolicy"/> rules applies.</summary>
internal enum SyncPolicyKind
{
    LastWriterWins,
    ServerWins,
    ClientWins,
    Merge,
}
