namespace StateKit.AspNetCore;

/// <summary>The answer to one operation. The numbers are stored in sessions: never renumber.</summary>
internal enum SyncStatus
{
    Applied = 0,
    Merged = 1,
    Rejected = 2,
}
