using System;
using System.Threading;
using Microsoft.Extensions.Time.Testing;
using StateKit.Memory;

namespace StateKit.Tests.Memory;

public sealed class SessionClockTests
{
    [Fact]
    public void GetUtcNow_OnAProviderOtherThanTheSystemClock_IsThatProvidersTimeExactly()
    {
        // Deadlines under a test's or an application's clock stay exact: only TimeProvider.System is read through the tick count.
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero));
        var clock = new SessionClock(time);

        time.Advance(TimeSpan.FromTicks(1));
        Assert.Equal(time.GetUtcNow(), clock.GetUtcNow());

        time.Advance(TimeSpan.FromHours(3) + TimeSpan.FromMilliseconds(0.5));
        Assert.Equal(time.GetUtcNow(), clock.GetUtcNow());
    }

    [Fact]
    public void GetUtcNow_OnTheSystemClock_IsTheWallClockToWithinTheTickResolution()
    {
        // The tick-count path adds milliseconds to a wall time: a unit slip (ticks for milliseconds) would be off by hours
        // within the loop. The bound is loose (a second) so a busy machine cannot fail it.
        var clock = new SessionClock(TimeProvider.System);
        var before = TimeProvider.System.GetUtcNow();
        for (var i = 0; i < 50; i++)
        {
            var now = clock.GetUtcNow();
            var after = TimeProvider.System.GetUtcNow();
            Assert.InRange(now, before - TimeSpan.FromSeconds(1), after + TimeSpan.FromSeconds(1));
            Thread.Sleep(30); // crosses a re-read of the wall clock
        }
    }
}
