using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Time.Testing;
using StateKit.Events;
using StateKit.Memory;
using StateKit.Resilience;
using StateKit.Testing;
using StateKit.Tests.Events;

namespace StateKit.Tests.Resilience;

public sealed class ResilientSessionStoreTests : IDisposable
{
    private static readonly TimeSpan Break = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(1);

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
    private readonly InMemorySessionStore _primary;
    private readonly ChaosSessionStore _chaos;
    private ResilientSessionStore? _store;

    public ResilientSessionStoreTests()
    {
        _primary = new InMemorySessionStore(new InMemorySessionStoreOptions { MaxPayloadBytes = 1024 }, _time);
        _chaos = new ChaosSessionStore(_primary, _time);
    }

    public void Dispose() => _store?.Dispose();

    private ResilientSessionStore Create(OutagePolicy outage, Action<ResilienceOptions>? configure = null)
    {
        var options = new ResilienceOptions { Name = "primary", Outage = outage, Timeout = Timeout };
        options.CircuitBreaker.MinimumThroughput = 3;
        options.CircuitBreaker.FailureRatio = 0.5;
        options.CircuitBreaker.BreakDuration = Break;
        configure?.Invoke(options);
        return _store = new ResilientSessionStore(_chaos, options, timeProvider: _time);
    }

    private async Task<string> SeedAsync(params (string Key, string Value)[] values)
    {
        var session = _primary.Open(null);
        foreach (var (key, value) in values)
        {
            session.SetBytes(key, Encoding.UTF8.GetBytes(value));
        }

        return (await session.CommitAsync()).Ticket!;
    }

    private static async Task<string?> ReadAsync(ISessionStore store, string ticket, string key)
    {
        var snapshot = await store.LoadAsync(ticket);
        return snapshot is not null && snapshot.Values.TryGetValue(key, out var value) ? Encoding.UTF8.GetString(value.Span) : null;
    }

    private static async Task<SessionCommitResult> WriteAsync(ISessionStore store, string? ticket, string key, string value, bool load = true)
    {
        var session = store.Open(ticket);
        if (load && ticket is not null)
        {
            await session.LoadAsync();
        }

        session.SetBytes(key, Encoding.UTF8.GetBytes(value));
        return await session.CommitAsync();
    }

    private async Task OpenCircuitAsync(ResilientSessionStore store)
    {
        _chaos.Fail();
        for (var i = 0; i < 10 && store.CircuitBreaker.State == CircuitState.Closed; i++)
        {
            await Assert.ThrowsAnyAsync<SessionStoreUnavailableException>(async () => await store.LoadAsync("AAAAAAAAAAAAAAAAAAAAAA"));
        }

        Assert.Equal(CircuitState.Open, store.CircuitBreaker.State);
    }

    private async Task<ReconciliationReport> RecoverAsync(ResilientSessionStore store)
    {
        var reported = new TaskCompletionSource<ReconciliationReport>(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnReconciled(object? sender, ReconciliationReport report) => reported.TrySetResult(report);
        store.Reconciled += OnReconciled;
        try
        {
            _chaos.Heal();

            // The break ends and the store replays its journal by itself: its first call is the half-open probe that closes the circuit.
            _time.Advance(Break);
            return await reported.Task.WaitAsync(TimeSpan.FromSeconds(10), TimeProvider.System);
        }
        finally
        {
            store.Reconciled -= OnReconciled;
        }
    }

    [Fact]
    public async Task FailFast_AfterFailureBudget_RejectsTypedWithoutCallingTheStore()
    {
        var store = Create(OutagePolicy.FailFast);
        var ticket = await SeedAsync(("cart", "1"));
        await OpenCircuitAsync(store);
        var calls = _chaos.Calls;

        var load = await Assert.ThrowsAsync<SessionStoreRejectedException>(async () => await store.LoadAsync(ticket));
        var commit = await Assert.ThrowsAsync<SessionStoreRejectedException>(async () => await WriteAsync(store, ticket, "cart", "2", load: false));

        Assert.Equal(SessionStoreRejectionReason.CircuitOpen, load.Reason);
        Assert.Equal(SessionStoreRejectionReason.CircuitOpen, commit.Reason);
        Assert.Equal(Break, load.RetryAfter);
        Assert.Equal(calls, _chaos.Calls);
        Assert.Equal("1", await ReadAsync(_primary, ticket, "cart")); // nothing written, nothing reported as written
    }

    [Fact]
    public async Task FailFast_AfterRecovery_ProbeClosesAndCallsFlowAgain()
    {
        var store = Create(OutagePolicy.FailFast);
        var ticket = await SeedAsync(("cart", "1"));
        await OpenCircuitAsync(store);
        _chaos.Heal();
        _time.Advance(Break);

        Assert.Equal("1", await ReadAsync(store, ticket, "cart"));
        Assert.Equal(CircuitState.Closed, store.CircuitBreaker.State);
    }

    [Fact]
    public async Task Timeout_StalledStore_AbandonsAtTheDeadlineAndCountsAFailure()
    {
        var store = Create(OutagePolicy.FailFast, o => o.CircuitBreaker.MinimumThroughput = 1);
        var ticket = await SeedAsync(("cart", "1"));
        _chaos.Stall();

        var pending = store.LoadAsync(ticket).AsTask();
        await Task.Yield();
        Assert.False(pending.IsCompleted);
        _time.Advance(Timeout);

        var error = await Assert.ThrowsAsync<SessionStoreRejectedException>(() => pending);
        Assert.Equal(SessionStoreRejectionReason.Timeout, error.Reason);
        Assert.IsAssignableFrom<Exception>(error.InnerException);
        Assert.Equal(CircuitState.Open, store.CircuitBreaker.State);
    }

    [Fact]
    public async Task ConcurrencyLimit_StalledStore_ShedsTypedInsteadOfQueueing()
    {
        var store = Create(OutagePolicy.FailFast, o => o.MaxConcurrentCalls = 2);
        var ticket = await SeedAsync(("cart", "1"));
        _chaos.Stall();

        var first = store.LoadAsync(ticket).AsTask();
        var second = store.LoadAsync(ticket).AsTask();
        var shed = await Assert.ThrowsAsync<SessionStoreRejectedException>(async () => await store.LoadAsync(ticket));

        Assert.Equal(SessionStoreRejectionReason.ConcurrencyLimit, shed.Reason);
        Assert.Equal(2, _chaos.MaxInFlight);
        _chaos.Heal();
        Assert.NotNull(await first);
        Assert.NotNull(await second);
        Assert.Equal(CircuitState.Closed, store.CircuitBreaker.State); // shedding is ours, not the store's failure
    }

    [Fact]
    public async Task Classification_ConflictTooLargeAndCallerCancellation_NeverOpenTheCircuit()
    {
        var store = Create(OutagePolicy.FailFast, o =>
        {
            o.CircuitBreaker.MinimumThroughput = 1;
            o.CircuitBreaker.FailureRatio = 0.01;
        });
        var ticket = await SeedAsync(("n", "1"));
        var stale = await store.LoadAsync(ticket);
        await WriteAsync(store, ticket, "n", "2");

        var conflict = await store.CommitAsync(new SessionCommit
        {
            Ticket = ticket,
            Base = stale,
            Mode = SessionCommitMode.RequireBaseVersion,
            Upserts = new Dictionary<string, ReadOnlyMemory<byte>> { ["n"] = "3"u8.ToArray() },
        });
        await Assert.ThrowsAsync<SessionPayloadTooLargeException>(async () => await WriteAsync(store, ticket, "n", new string('x', 2048)));
        _chaos.Stall();
        using var cts = new CancellationTokenSource();
        var canceled = store.LoadAsync(ticket, cts.Token).AsTask();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => canceled);

        Assert.Equal(SessionCommitOutcome.Conflict, conflict.Outcome);
        Assert.Equal(CircuitState.Closed, store.CircuitBreaker.State);
    }

    [Fact]
    public async Task FallbackWithJournal_Outage_ServesFallbackAndReplaysWithoutConflict()
    {
        var store = Create(OutagePolicy.FallbackWithJournal);
        var reports = new List<ReconciliationReport>();
        store.Reconciled += (_, r) => reports.Add(r);
        var ticket = await SeedAsync(("cart", "1"), ("theme", "dark"));
        var before = await store.LoadAsync(ticket); // loaded before the outage: its version is the journal's base
        await OpenCircuitAsync(store);

        // The request loaded before the outage, then commits during it: the fallback is seeded with what it loaded.
        var session = new StateSession(store, ticket);
        await session.LoadAsync();
        Assert.Equal(0, session.Loaded!.Version); // an empty placeholder: the ticket cannot be verified during the outage
        var commit = await store.CommitAsync(new SessionCommit
        {
            Ticket = ticket,
            Base = before,
            Upserts = new Dictionary<string, ReadOnlyMemory<byte>> { ["cart"] = "2"u8.ToArray() },
        });

        Assert.Equal(SessionCommitOutcome.Committed, commit.Outcome);
        var outageTicket = commit.Ticket!; // issued by the fallback: the presented ticket is only a claim
        Assert.NotEqual(ticket, outageTicket);
        Assert.Equal("2", await ReadAsync(store, outageTicket, "cart"));
        Assert.Equal("dark", await ReadAsync(store, outageTicket, "theme"));
        Assert.Equal(1, store.JournalDepth);
        Assert.Equal("1", await ReadAsync(_primary, ticket, "cart"));

        var report = await RecoverAsync(store);

        Assert.Equal((1, 0, 0, 0), (report.Replayed, report.Merged, report.Dropped, report.Remaining));
        Assert.Equal(CircuitState.Closed, store.CircuitBreaker.State);
        Assert.Equal(0, store.JournalDepth);
        Assert.Equal("2", await ReadAsync(_primary, ticket, "cart"));
        Assert.Equal("dark", await ReadAsync(_primary, ticket, "theme"));
        Assert.Equal("2", await ReadAsync(store, ticket, "cart")); // now from the primary again
        Assert.Equal("2", await ReadAsync(store, outageTicket, "cart")); // the claim held: forwarded to the primary session
        Assert.Single(reports);
    }

    [Fact]
    public async Task FallbackWithJournal_OnlyJournaledSessionsInUse_TheJournalProbesAndClosesTheCircuit()
    {
        // Found by the real-Redis outage test: journaled sessions are served without asking the breaker, so with no
        // other traffic nothing probed the primary, the circuit stayed open and the journal was never replayed.
        var store = Create(OutagePolicy.FallbackWithJournal);
        var ticket = await SeedAsync(("cart", "1"));
        await OpenCircuitAsync(store);
        var outageTicket = (await WriteAsync(store, ticket, "cart", "2", load: true)).Ticket!;
        _chaos.Heal();
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        store.Reconciled += (_, r) => closed.TrySetResult();

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal("2", await ReadAsync(store, outageTicket, "cart")); // routed to the fallback: no probe
        }

        _time.Advance(Break);
        await closed.Task.WaitAsync(TimeSpan.FromSeconds(10), TimeProvider.System);

        Assert.Equal(CircuitState.Closed, store.CircuitBreaker.State);
        Assert.Equal(0, store.JournalDepth);
        Assert.Equal("2", await ReadAsync(_primary, ticket, "cart"));
    }

    [Fact]
    public async Task FallbackWithJournal_PrimaryChangedMeanwhile_DefaultMergeKeepsBothAndOutageWinsItsKeys()
    {
        var store = Create(OutagePolicy.FallbackWithJournal);
        var ticket = await SeedAsync(("cart", "1"), ("theme", "dark"));
        await OpenCircuitAsync(store);

        await WriteAsync(store, ticket, "cart", "outage", load: true);

        // Another node, with a healthy path to the primary, wrote both keys meanwhile.
        await WriteAsync(_primary, ticket, "cart", "other-node");
        await WriteAsync(_primary, ticket, "theme", "light");

        var report = await RecoverAsync(store);

        Assert.Equal((0, 1), (report.Replayed, report.Merged));
        Assert.Equal("outage", await ReadAsync(_primary, ticket, "cart"));
        Assert.Equal("light", await ReadAsync(_primary, ticket, "theme"));
    }

    [Fact]
    public async Task FallbackWithJournal_Replay_RaisesReconciledPerSessionAndConflictWhereThePrimaryMovedOn()
    {
        await using var harness = new EventHarness(_time);
        var store = Create(OutagePolicy.FallbackWithJournal);
        ((ISessionEventSource)store).AttachEvents(harness.Sink("primary"));
        var clean = await SeedAsync(("cart", "1"));
        var contested = await SeedAsync(("cart", "1"));
        var cleanBefore = await store.LoadAsync(clean); // loaded before the outage: its version is the journal's base
        await OpenCircuitAsync(store);
        await store.CommitAsync(new SessionCommit { Ticket = clean, Base = cleanBefore, Upserts = new Dictionary<string, ReadOnlyMemory<byte>> { ["cart"] = "2"u8.ToArray() } });
        await WriteAsync(store, contested, "cart", "outage");
        await WriteAsync(_primary, contested, "cart", "other-node");

        var report = await RecoverAsync(store);

        Assert.Equal((1, 1), (report.Replayed, report.Merged));
        var replayed = await harness.Recorder.WaitForAsync(SessionEventKinds.Reconciled, clean);
        var merged = await harness.Recorder.WaitForAsync(SessionEventKinds.Reconciled, contested);
        var conflict = await harness.Recorder.WaitForAsync(SessionEventKinds.Conflict, contested);
        Assert.Equal(SessionEventReason.Replayed, replayed.Reason);
        Assert.Equal(SessionEventReason.Merged, merged.Reason);
        Assert.Equal(SessionEventReason.Merged, conflict.Reason);
        await harness.FlushAsync();
        Assert.DoesNotContain(harness.Recorder.Events, e => e.Kind == SessionEventKinds.Conflict && e.PublicId == replayed.PublicId);
        Assert.True(store.Capabilities.Events.HasFlag(SessionEventKinds.Reconciled | SessionEventKinds.Conflict));
        harness.Recorder.AssertNeverCarries(clean);
        harness.Recorder.AssertNeverCarries(contested);
    }

    [Fact]
    public async Task FallbackWithJournal_UserMergeDelegate_ReceivesBothVersions()
    {
        var seen = new List<SessionMergeConflict>();
        var store = Create(OutagePolicy.FallbackWithJournal, o => o.Merge = conflict =>
        {
            seen.Add(conflict);

            // A cart merges as the union of its lines.
            var current = conflict.Current is { } c ? Encoding.UTF8.GetString(c.Span) : string.Empty;
            var outage = conflict.Journaled is { } j ? Encoding.UTF8.GetString(j.Span) : string.Empty;
            return Encoding.UTF8.GetBytes(string.Join(',', current.Split(',').Concat(outage.Split(',')).Where(s => s.Length > 0).Distinct().Order()));
        });
        var ticket = await SeedAsync(("cart", "apple"));
        await OpenCircuitAsync(store);
        await WriteAsync(store, ticket, "cart", "apple,pear");
        await WriteAsync(_primary, ticket, "cart", "apple,fig");

        var report = await RecoverAsync(store);

        Assert.Equal(1, report.Merged);
        var conflict = Assert.Single(seen);
        Assert.Equal("cart", conflict.Key);
        Assert.Equal("apple,fig", Encoding.UTF8.GetString(conflict.Current!.Value.Span));
        Assert.Equal("apple,pear", Encoding.UTF8.GetString(conflict.Journaled!.Value.Span));
        Assert.Null(conflict.JournalBaseVersion); // the outage request never saw the primary's copy
        Assert.Equal("apple,fig,pear", await ReadAsync(_primary, ticket, "cart"));
    }

    [Fact]
    public async Task FallbackWithJournal_NewSessionDuringOutage_IsCreatedInPrimaryAndForwarded()
    {
        var store = Create(OutagePolicy.FallbackWithJournal);
        await OpenCircuitAsync(store);

        var created = await WriteAsync(store, null, "cart", "1");
        var outageTicket = created.Ticket!;
        Assert.Equal("1", await ReadAsync(store, outageTicket, "cart"));

        var report = await RecoverAsync(store);
        Assert.Equal(1, report.Replayed);

        // The client still presents the outage ticket: it loads from the primary, and its next commit hands over the primary ticket.
        Assert.Equal("1", await ReadAsync(store, outageTicket, "cart"));
        var next = await WriteAsync(store, outageTicket, "cart", "2");
        Assert.NotNull(next.Ticket);
        Assert.NotEqual(outageTicket, next.Ticket);
        Assert.Equal("2", await ReadAsync(_primary, next.Ticket!, "cart"));
    }

    [Fact]
    public async Task FallbackWithJournal_RevokeDuringOutage_IsReplayed()
    {
        var store = Create(OutagePolicy.FallbackWithJournal);
        var ticket = await SeedAsync(("secret", "1"));
        await OpenCircuitAsync(store);

        var session = store.Open(ticket);
        session.Revoke();
        var result = await session.CommitAsync();
        Assert.Equal(SessionCommitOutcome.Deleted, result.Outcome);
        Assert.Null(await store.LoadAsync(ticket));

        await RecoverAsync(store);

        Assert.Null(await _primary.LoadAsync(ticket));
    }

    [Theory]
    [InlineData("revoke")]
    [InlineData("sign-out")]
    public async Task EndedWhileUp_RequestThatLoadedItBeforeCommitsDuringTheOutage_DoesNotSeedTheFallbackWithIt(string end)
    {
        var store = Create(OutagePolicy.FallbackWithJournal);
        var ticket = await SeedAsync(("user", "ana"));
        var loaded = await store.LoadAsync(ticket); // a request in flight while the session ends (on a stolen ticket, say)
        if (end == "revoke")
        {
            Assert.True(await store.RevokeAsync(ticket));
        }
        else
        {
            var signOut = store.Open(ticket);
            signOut.Revoke();
            Assert.Equal(SessionCommitOutcome.Deleted, (await signOut.CommitAsync()).Outcome);
        }

        await OpenCircuitAsync(store);
        var result = await store.CommitAsync(new SessionCommit
        {
            Ticket = ticket,
            Base = loaded,
            Upserts = new Dictionary<string, ReadOnlyMemory<byte>>(StringComparer.Ordinal) { ["cart"] = "2"u8.ToArray() },
        });

        // Not a fallback copy of the ended session, still signed in as ana for the outage: NotFound, as for any dead session.
        Assert.Equal(SessionCommitOutcome.NotFound, result.Outcome);
        Assert.Equal(0, store.JournalDepth);
    }

    [Fact]
    public async Task FallbackWithJournal_RotateIdDuringOutage_FailsTypedAndWritesNothing()
    {
        var store = Create(OutagePolicy.FallbackWithJournal);
        var ticket = await SeedAsync(("n", "1"));
        await OpenCircuitAsync(store);
        var session = store.Open(ticket);
        session.SetBytes("n", "2"u8);
        session.RotateId();

        var error = await Assert.ThrowsAsync<SessionStoreRejectedException>(async () => await session.CommitAsync());

        Assert.Equal(SessionStoreRejectionReason.NotAvailableDuringOutage, error.Reason);
        Assert.Equal(0, store.JournalDepth);
    }

    [Fact]
    public async Task Journal_FullWithRejectNew_RefusesNewSessionsTypedAndKeepsTheOld()
    {
        var store = Create(OutagePolicy.FallbackWithJournal, o => o.JournalCapacity = 2);
        await OpenCircuitAsync(store);
        var a = (await WriteAsync(store, null, "n", "a")).Ticket!;
        await WriteAsync(store, null, "n", "b");

        var error = await Assert.ThrowsAsync<SessionStoreRejectedException>(async () => await WriteAsync(store, null, "n", "c"));
        await WriteAsync(store, a, "n", "a2"); // a session already journaled still writes

        Assert.Equal(SessionStoreRejectionReason.JournalFull, error.Reason);
        Assert.Equal(2, store.JournalDepth);
        var report = await RecoverAsync(store);
        Assert.Equal((2, 0, 0), (report.Replayed, report.Dropped, report.Remaining));
    }

    [Fact]
    public async Task Journal_FullWithDropOldest_DropsCountedAndReported()
    {
        var store = Create(OutagePolicy.FallbackWithJournal, o =>
        {
            o.JournalCapacity = 2;
            o.JournalOverflow = JournalOverflowPolicy.DropOldest;
        });
        await OpenCircuitAsync(store);
        for (var i = 0; i < 5; i++)
        {
            await WriteAsync(store, null, "n", i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        Assert.Equal(2, store.JournalDepth);
        var report = await RecoverAsync(store);

        Assert.Equal((2, 3, 0), (report.Replayed, report.Dropped, report.Remaining));
    }

    [Fact]
    public async Task Journal_PrimaryFailsAgainDuringReplay_KeepsTheRestJournaled()
    {
        var store = Create(OutagePolicy.FallbackWithJournal);
        var ticket = await SeedAsync(("n", "1"));
        await OpenCircuitAsync(store);
        var outageTicket = (await WriteAsync(store, ticket, "n", "2")).Ticket!;
        _time.Advance(Break);

        var report = await store.ReconcileAsync(); // the probe fails: the chaos store is still down

        Assert.Equal((0, 0, 1), (report.Replayed, report.Merged, report.Remaining));
        Assert.Equal(CircuitState.Open, store.CircuitBreaker.State);
        Assert.Equal("2", await ReadAsync(store, outageTicket, "n")); // still served from the fallback
        Assert.Equal(1, (await RecoverAsync(store)).Merged);
        Assert.Equal("2", await ReadAsync(_primary, ticket, "n"));
    }

    [Fact]
    public async Task Journal_ClosingCircuit_ReconcilesByItself()
    {
        var store = Create(OutagePolicy.FallbackWithJournal);
        var reconciled = new TaskCompletionSource<ReconciliationReport>(TaskCreationOptions.RunContinuationsAsynchronously);
        store.Reconciled += (_, r) => reconciled.TrySetResult(r);
        var ticket = await SeedAsync(("n", "1"));
        await OpenCircuitAsync(store);
        await WriteAsync(store, ticket, "n", "2");
        _chaos.Heal();
        _time.Advance(Break);

        await store.LoadAsync(await SeedAsync(("other", "x"))); // any request's probe closes the circuit

        var report = await reconciled.Task.WaitAsync(TimeSpan.FromSeconds(30));

        // The outage request read the empty placeholder, so its base is unknown: replayed through the merge policy.
        Assert.Equal(1, report.Merged);
        Assert.Equal("2", await ReadAsync(_primary, ticket, "n"));
    }

    [Fact]
    public async Task Fallback_Ephemeral_ServesDuringOutageAndJournalsNothing()
    {
        var store = Create(OutagePolicy.Fallback);
        var ticket = await SeedAsync(("theme", "dark"));
        await OpenCircuitAsync(store);

        var outageTicket = (await WriteAsync(store, ticket, "theme", "light")).Ticket!;
        Assert.Equal("light", await ReadAsync(store, outageTicket, "theme"));
        Assert.Equal(0, store.JournalDepth);

        _chaos.Heal();
        _time.Advance(Break);
        Assert.Equal("dark", await ReadAsync(store, ticket, "theme")); // the probe closes; outage writes stay behind
        Assert.Equal("dark", await ReadAsync(store, ticket, "theme"));
        Assert.Equal("dark", await ReadAsync(store, outageTicket, "theme")); // the fallback's ticket goes back to the one it claimed
    }

    [Theory]
    [InlineData(OutagePolicy.FallbackWithJournal)]
    [InlineData(OutagePolicy.Fallback)]
    public async Task Outage_NeverIssuedTicket_NeverNamesTheSession(OutagePolicy outage)
    {
        // The attacker planted this cookie value on the victim (a sibling subdomain can), and waits for an outage.
        const string Planted = "planted-by-the-attacker-000000";
        var store = Create(outage);
        await OpenCircuitAsync(store);

        var victim = store.Open(Planted);
        await victim.LoadAsync();
        victim.SetBytes("card", "4111-victim"u8);
        var result = await victim.CommitAsync();

        // The victim is handed a ticket the store issued; the planted value names nothing, during the outage or after it.
        Assert.Equal(SessionCommitOutcome.Committed, result.Outcome);
        Assert.NotNull(result.Ticket);
        Assert.NotEqual(Planted, victim.Ticket);
        Assert.Null(await ReadAsync(store, Planted, "card"));
        Assert.Equal("4111-victim", await ReadAsync(store, victim.Ticket!, "card"));

        if (outage == OutagePolicy.FallbackWithJournal)
        {
            await RecoverAsync(store);
        }
        else
        {
            _chaos.Heal();
            _time.Advance(Break);
            await store.LoadAsync("AAAAAAAAAAAAAAAAAAAAAA"); // the probe closes the circuit
        }

        Assert.Equal(CircuitState.Closed, store.CircuitBreaker.State);

        Assert.Null(await ReadAsync(store, Planted, "card"));
        Assert.Null(await _primary.LoadAsync(Planted));
        if (outage == OutagePolicy.FallbackWithJournal)
        {
            Assert.Equal("4111-victim", await ReadAsync(store, victim.Ticket!, "card")); // the victim keeps its session
        }
    }

    [Fact]
    public async Task FallbackWithJournal_RandomTickets_EachGetsAFreshTicketAndNoneBecomesASession()
    {
        var store = Create(OutagePolicy.FallbackWithJournal);
        await OpenCircuitAsync(store);
        var random = new Random(13);
        var issued = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < 20; i++)
        {
            var chosen = Convert.ToBase64String(Enumerable.Range(0, 16).Select(_ => (byte)random.Next(256)).ToArray());
            var result = await WriteAsync(store, chosen, "n", chosen);
            Assert.Equal(SessionCommitOutcome.Committed, result.Outcome);
            Assert.NotNull(result.Ticket);
            Assert.DoesNotContain(result.Ticket, issued.Values);
            issued[chosen] = result.Ticket!;
            Assert.Null(await ReadAsync(store, chosen, "n")); // the chosen string loads the empty placeholder
        }

        await RecoverAsync(store);

        foreach (var (chosen, ticket) in issued)
        {
            Assert.Null(await ReadAsync(store, chosen, "n"));
            Assert.Null(await _primary.LoadAsync(chosen));
            Assert.Equal(chosen, await ReadAsync(store, ticket, "n"));
        }
    }

    [Fact]
    public async Task FallbackWithJournal_JournalFlood_RandomTicketsTakeNoSlot()
    {
        var store = Create(OutagePolicy.FallbackWithJournal, o => o.JournalCapacity = 2);
        var ticket = await SeedAsync(("cart", "1"));
        await OpenCircuitAsync(store);
        var random = new Random(17);

        // Cheap writes against strings the store never issued: removals, clears and revocations carry nothing to keep.
        for (var i = 0; i < 200; i++)
        {
            var chosen = Convert.ToBase64String(Enumerable.Range(0, 16).Select(_ => (byte)random.Next(256)).ToArray());
            var session = store.Open(chosen);
            switch (i % 3)
            {
                case 0:
                    session.Remove("cart");
                    break;
                case 1:
                    session.Clear();
                    break;
                default:
                    session.Revoke();
                    break;
            }

            await session.CommitAsync();
        }

        Assert.Equal(0, store.JournalDepth);

        // Genuine users still get their slots: a session created now, and one of the primary's own.
        await WriteAsync(store, null, "cart", "new");
        var own = await WriteAsync(store, ticket, "cart", "2");
        Assert.Equal(2, store.JournalDepth);
        var report = await RecoverAsync(store);
        Assert.Equal((0, 0), (report.Dropped, report.Remaining));
        Assert.Equal("2", await ReadAsync(_primary, ticket, "cart"));
        Assert.Equal("2", await ReadAsync(store, own.Ticket!, "cart"));
    }

    [Fact]
    public async Task FallbackWithJournal_CommitWaitingWhileItsSessionIsReplayed_KeepsItsWrite()
    {
        // Found by the real-Redis outage test: a commit routed to the fallback waited for the gate the replay held; when it
        // ran, the fallback's copy was gone, it answered NotFound and the request started a new, empty session.
        var gated = new GatedSessionStore(_chaos);
        var options = new ResilienceOptions { Name = "primary", Outage = OutagePolicy.FallbackWithJournal, Timeout = Timeout };
        options.CircuitBreaker.MinimumThroughput = 3;
        options.CircuitBreaker.BreakDuration = Break;
        using var store = new ResilientSessionStore(gated, options, timeProvider: _time);
        var ticket = await SeedAsync(("cart", "1"));
        await OpenCircuitAsync(store);
        var outageTicket = (await WriteAsync(store, ticket, "cart", "2")).Ticket!;
        var loaded = await store.LoadAsync(outageTicket); // served by the fallback, as the replay is about to begin

        _chaos.Heal();
        var blocked = gated.HoldNextCommit();
        _time.Advance(Break); // the journal's own probe starts the replay, which stops inside its commit to the primary
        await blocked.Entered.Task.WaitAsync(TimeSpan.FromSeconds(10), TimeProvider.System);
        var waiting = store.CommitAsync(new SessionCommit
        {
            Ticket = outageTicket,
            Base = loaded,
            Upserts = new Dictionary<string, ReadOnlyMemory<byte>> { ["theme"] = "dark"u8.ToArray() },
        });
        blocked.Release();
        var result = await waiting;

        Assert.Equal(SessionCommitOutcome.Committed, result.Outcome);
        await store.ReconcileAsync();
        Assert.Equal("2", await ReadAsync(_primary, ticket, "cart"));
        Assert.Equal("dark", await ReadAsync(_primary, ticket, "theme"));
    }

    [Fact]
    public void Constructor_InvalidOptions_ListsEveryProblem()
    {
        var options = new ResilienceOptions { Timeout = TimeSpan.Zero, MaxConcurrentCalls = -1, JournalCapacity = 0 };
        options.CircuitBreaker.FailureRatio = 2;

        var error = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => new ResilientSessionStore(_primary, options));

        Assert.Equal(4, error.Failures.Count());
        Assert.Contains(error.Failures, f => f.StartsWith("CircuitBreaker.FailureRatio", StringComparison.Ordinal));
    }
}
