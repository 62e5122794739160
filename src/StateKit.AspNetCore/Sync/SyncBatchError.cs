namespace StateKit.AspNetCore;

/// <summary>One reason a batch was refused: which operation (-1 for the batch itself), a stable code, and what to fix.</summary>
internal readonly record struct SyncBatchError(int Index, string Code, string Detail);
