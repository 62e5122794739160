using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using StateKit.Testing;

namespace StateKit.Redis.Tests;

/// <summary>
/// A few concurrent loops of real session traffic through one store, for failover tests: each loop owns some sessions and,
/// over and over, loads one, increments its counter and commits. It records every outcome with its time, which sessions
/// were last acknowledged at which value, and every failure with its type. Each session has one writer, so the value a
/// session holds is never below its last acknowledged one unless Redis lost an acknowledged write.
/// </summary>
internal sealed class FailoverLoad(ISessionStore store, int loops, int sessionsPerLoop) : IAsyncDisposable
{
    private static readonly TimeSpan Pause = TimeSpan.FromMilliseconds(10);
    private readonly ConcurrentQueue<Outcome> _outcomes = new();
    private readonly ConcurrentDictionary<string, int> _acknowledged = new(StringComparer.Ordinal);
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly CancellationTokenSource _stop = new();
    private string[][] _tickets = [];
    private Task[] _loops = [];

    public enum Kind
    {
        Load,
        Commit,
    }

    /// <summary>Gets the time since the load was created, the time base of every <see cref="Outcome"/>.</summary>
    public TimeSpan Now => _clock.Elapsed;

    public IReadOnlyCollection<string> Tickets => [.. _tickets.SelectMany(t => t)];

    public IReadOnlyCollection<Outcome> Outcomes => _outcomes;

    /// <summary>Gets the value of each session's last acknowledged commit.</summary>
    public IReadOnlyDictionary<string, int> Acknowledged => _acknowledged;

    /// <summary>Creates every session (each creation acknowledged), then starts the loops.</summary>
    public async Task StartAsync()
    {
        _tickets = new string[loops][];
        for (var l = 0; l < loops; l++)
        {
            _tickets[l] = new string[sessionsPerLoop];
            for (var s = 0; s < sessionsPerLoop; s++)
            {
                var session = await CreateAsync();
                _tickets[l][s] = session.Ticket!;
                _acknowledged[session.Ticket!] = 1;
            }
        }

        _loops = [.. _tickets.Select(t => Task.Run(() => RunAsync(t)))];
    }

    /// <summary>Creates a session, trying again a few times: the set-up is not what a failover test checks, and a busy
    /// machine can delay a replica's acknowledgement past its timeout.</summary>
    private async Task<StateSession> CreateAsync()
    {
        for (var attempt = 1; ; attempt++)
        {
            var session = store.Open(null);
            session.Set("n", 1, ContractJsonContext.Default.Int32);
            try
            {
                var created = await session.CommitAsync();
                Assert.Equal(SessionCommitOutcome.Committed, created.Outcome);
                return session;
            }
            catch (SessionStoreUnavailableException) when (attempt < 3)
            {
            }
        }
    }

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_loops);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
    }

    /// <summary>Waits until <paramref name="condition"/> holds over the outcomes so far, or fails after <paramref name="cap"/>.</summary>
    public async Task<TimeSpan> WaitForAsync(string what, TimeSpan cap, Func<IReadOnlyCollection<Outcome>, bool> condition)
    {
        var started = Stopwatch.GetTimestamp();
        while (!condition(_outcomes))
        {
            if (Stopwatch.GetElapsedTime(started) > cap)
            {
                var last = _outcomes.Reverse().Take(5).Select(o => o.ToString());
                throw new TimeoutException($"Timed out after {cap.TotalSeconds:F0} s waiting for {what}; last outcomes: {string.Join(" | ", last)}");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(20), TimeProvider.System);
        }

        return Stopwatch.GetElapsedTime(started);
    }

    /// <summary>Reads every session back through <paramref name="reader"/> and returns those below their last acknowledged value.</summary>
    public async Task<IReadOnlyList<string>> LostAsync(ISessionStore reader)
    {
        var lost = new List<string>();
        foreach (var (ticket, acknowledged) in _acknowledged)
        {
            var session = reader.Open(ticket);
            await session.LoadAsync();
            var value = session.Exists ? session.Get("n", ContractJsonContext.Default.Int32) : 0;
            if (value < acknowledged)
            {
                lost.Add($"a session of loop {Array.FindIndex(_tickets, t => t.Contains(ticket))}: acknowledged {acknowledged}, found {(session.Exists ? value : "nothing")}");
            }
        }

        return lost;
    }

    private async Task RunAsync(string[] tickets)
    {
        for (var i = 0; !_stop.IsCancellationRequested; i++)
        {
            var ticket = tickets[i % tickets.Length];
            var kind = Kind.Load;
            var started = _clock.Elapsed;
            try
            {
                var session = store.Open(ticket);
                await session.LoadAsync();
                if (!session.Exists)
                {
                    // Never write over a lost session: that would create a new one and hide the loss.
                    _outcomes.Enqueue(new Outcome(ticket, kind, started, _clock.Elapsed, null, "not found"));
                    continue;
                }

                _outcomes.Enqueue(new Outcome(ticket, kind, started, _clock.Elapsed, null, null));
                var next = session.Get("n", ContractJsonContext.Default.Int32) + 1;
                session.Set("n", next, ContractJsonContext.Default.Int32);
                kind = Kind.Commit;
                started = _clock.Elapsed;
                var result = await session.CommitAsync();
                if (result.Outcome == SessionCommitOutcome.Committed)
                {
                    _acknowledged.AddOrUpdate(ticket, next, (_, old) => Math.Max(old, next));
                    _outcomes.Enqueue(new Outcome(ticket, kind, started, _clock.Elapsed, null, null));
                }
                else
                {
                    _outcomes.Enqueue(new Outcome(ticket, kind, started, _clock.Elapsed, null, $"outcome {result.Outcome}"));
                }
            }
            catch (Exception e)
            {
                _outcomes.Enqueue(new Outcome(ticket, kind, started, _clock.Elapsed, e, null));
            }

            try
            {
                await Task.Delay(Pause, TimeProvider.System, _stop.Token);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    /// <summary>One operation: when it started and ended (from the load's clock), and how it failed, if it did.</summary>
    internal sealed record Outcome(string Ticket, Kind Kind, TimeSpan Started, TimeSpan Ended, Exception? Error, string? Problem)
    {
        public bool Succeeded => Error is null && Problem is null;

        /// <summary>Gets whether it failed the documented way: a <see cref="SessionStoreUnavailableException"/> (or a subtype).</summary>
        public bool FailedTyped => Error is SessionStoreUnavailableException;

        public override string ToString()
            => $"{Kind} {Started.TotalMilliseconds:F0}-{Ended.TotalMilliseconds:F0} ms: {(Succeeded ? "ok" : Problem ?? $"{Error!.GetType().Name}: {Error.Message}")}";
    }
}
