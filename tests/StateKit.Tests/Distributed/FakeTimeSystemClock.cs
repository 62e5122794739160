using System;
using Microsoft.Extensions.Internal;

namespace StateKit.Tests.Distributed;

/// <summary>Lets MemoryDistributedCache expire entries on the test's fake clock.</summary>
internal sealed class FakeTimeSystemClock(TimeProvider time) : ISystemClock
{
    public DateTimeOffset UtcNow => time.GetUtcNow();
}
