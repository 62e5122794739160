using System;

namespace StateKit.Samples.Tests;

/// <summary>
/// A browser test: skipped, saying why, where Debian's chromium and chromedriver are missing — unless
/// STATEKIT_REQUIRE_BROWSER=1 (set by CI), where a missing browser fails the run instead.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class BrowserTheoryAttribute : TheoryAttribute
{
    public BrowserTheoryAttribute()
    {
        if (!Browser.IsInstalled && Environment.GetEnvironmentVariable("STATEKIT_REQUIRE_BROWSER") != "1")
        {
            Skip = $"Chromium is not installed ({Browser.ChromiumPath}, {Browser.DriverDirectory}/{Browser.DriverName}): apt-get install chromium chromium-driver, as .ci/run does.";
        }
    }
}
