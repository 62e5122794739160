using System;
using System.Threading;

namespace StateKit.Memory;

/// <summary>
/// The wall time a <see cref="SessionTable"/> stamps and checks deadlines with. On <see cref="TimeProvider.System"/> it reads
/// <see cref="Environment.TickCount64"/> (about 8 ns on a VM, against about 30 ns for <see cref="TimeProvider.GetUtcNow"/>,
/// which a request paid twice) and adds the milliseconds elapsed to a wall time it re-reads once a second; any other
/// provider (a test's <c>FakeTimeProvider</c>, an application's own clock) is asked every time, exactly as before.
/// </summary>
/// <remarks>
/// The deadlines it serves are idle timeouts and absolute lifetimes of minutes to days, so its cost is a resolution of
/// the tick count's (1-4 ms on Linux, up to 16 ms on Windows) and a step of the wall clock seen up to a second late.
/// </remarks>
internal sealed class SessionClock
{
    private const long ReanchorMilliseconds = 1_000;

    private static readonly Func<long> SystemTicks = static () => Environment.TickCount64;

    private readonly TimeProvider _time;
    private readonly Func<long>? _ticks;
    private Anchor _anchor;

    public SessionClock(TimeProvider time)
        : this(time, ReferenceEquals(time, TimeProvider.System) ? SystemTicks : null)
    {
    }

    /// <summary>A clock that reads <paramref name="ticks"/> (milliseconds) between re-reads of <paramref name="time"/>, or asks <paramref name="time"/> every time when <see langword="null"/>; for tests.</summary>
    internal SessionClock(TimeProvider time, Func<long>? ticks)
    {
        _time = time;
        _ticks = ticks;
        _anchor = new Anchor(ticks?.Invoke() ?? 0, time.GetUtcNow().UtcTicks);
    }

    /// <summary>Gets a value indicating whether the clock reads the tick count between wall-clock reads; for tests.</summary>
    internal bool ReadsTicks => _ticks is not null;

    public DateTimeOffset GetUtcNow()
    {
        if (_ticks is null)
        {
            return _time.GetUtcNow();
        }

        var tick = _ticks();
        var anchor = Volatile.Read(ref _anchor);
        var elapsed = tick - anchor.Tick;
        if ((ulong)elapsed >= ReanchorMilliseconds)
        {
            // Once a second (and never from a tick count that went backwards): one allocation, racing threads may each
            // make one, and whichever lands is as good as the other.
            var now = _time.GetUtcNow();
            Volatile.Write(ref _anchor, new Anchor(tick, now.UtcTicks));
            return now;
        }

        return new DateTimeOffset(anchor.UtcTicks + (elapsed * TimeSpan.TicksPerMillisecond), TimeSpan.Zero);
    }

    // Immutable, so that the tick and the wall time it goes with are read together without a lock.
    private sealed class Anchor(long tick, long utcTicks)
    {
        public long Tick { get; } = tick;

        public long UtcTicks { get; } = utcTicks;
    }
}
