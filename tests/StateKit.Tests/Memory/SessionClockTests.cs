using System;
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
    public void GetUtcNow_OnTicks_AddsTheMillisecondsToTheWallTime_AndReReadsTheWallClockEverySecond()
    {
        var wall = new FakeTimeProvider(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero));
        var start = wall.GetUtcNow();
        long ticks = 10_000;
        var clock = new SessionClock(wall, () => ticks);

        // Within the second: the tick count alone, in milliseconds (a unit slip would be off by a factor of 10,000).
        ticks += 500;
        Assert.Equal(start + TimeSpan.FromMilliseconds(500), clock.GetUtcNow());

        // A second on: the wall clock is read again, and a step it took meanwhile is seen.
        wall.Advance(TimeSpan.FromMilliseconds(1_007));
        ticks += 500;
        Assert.Equal(start + TimeSpan.FromMilliseconds(1_007), clock.GetUtcNow());
        ticks += 200;
        Assert.Equal(start + TimeSpan.FromMilliseconds(1_207), clock.GetUtcNow());

        // A tick count that went back behind the last re-read is not trusted: the wall clock is read.
        wall.Advance(TimeSpan.FromMilliseconds(300));
        ticks -= 300;
        Assert.Equal(start + TimeSpan.FromMilliseconds(1_307), clock.GetUtcNow());
    }

    [Fact]
    public void Constructor_OnTheSystemClock_TakesTheTickPath_OnAnyOtherProvider_AsksItEveryTime()
    {
        Assert.True(new SessionClock(TimeProvider.System).ReadsTicks);
        Assert.False(new SessionClock(new FakeTimeProvider()).ReadsTicks);
    }
}
