using System;

namespace StateKit.Samples.Tests;

/// <summary>What <c>/health</c> said from <paramref name="At"/> on.</summary>
internal sealed record HealthChange(TimeSpan At, string Seen);
