using System;

namespace StateKit.Tests;

internal static class StateKitTestDefaults
{
    /// <summary>Just past the library's default idle timeout of 20 minutes.</summary>
    public static readonly TimeSpan PastDefaultIdle = TimeSpan.FromMinutes(20) + TimeSpan.FromSeconds(1);
}
