namespace StateKit.AspNetCore;

/// <summary>What one synced operation does. The last three merge and never conflict.</summary>
internal enum SyncOperationKind
{
    Set,
    Remove,
    Add,
    SetAdd,
    SetRemove,
}
