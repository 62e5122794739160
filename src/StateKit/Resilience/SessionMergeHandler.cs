using System;

namespace StateKit.Resilience;

/// <summary>
/// Resolves one key of a journaled session that conflicts with the primary's newer version. The default
/// (<see langword="null"/> handler) is per-key last writer wins: the outage's value, written later, replaces the primary's.
/// </summary>
/// <param name="conflict">Both versions of the key.</param>
/// <returns>The value to store, or <see langword="null"/> to remove the key.</returns>
public delegate ReadOnlyMemory<byte>? SessionMergeHandler(SessionMergeConflict conflict);
