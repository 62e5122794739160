using System.Collections.Generic;

namespace StateKit.AspNetCore;

/// <summary>What applying a batch gave: one answer per operation, in order, and every key the batch named as it stands now.</summary>
internal sealed record SyncResult(IReadOnlyList<SyncAnswer> Answers, IReadOnlyList<SyncKeyState> Keys, int Attempts);
