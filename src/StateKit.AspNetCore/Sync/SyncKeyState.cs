using System;

namespace StateKit.AspNetCore;

/// <summary>A key as the batch left it: its version and its JSON value (none when the key is absent).</summary>
internal readonly record struct SyncKeyState(string Key, long Version, ReadOnlyMemory<byte>? Value);
