using System;
using System.Collections.Generic;
using System.Diagnostics.Metrics;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using StateKit.Memory;
using StateKit.Testing;

namespace StateKit.Tests.Memory;

public sealed class InMemorySessionStoreTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));

    [Fact]
    public async Task Commit_PastMaxSessions_EvictsTheLeastRecentlyUsed()
    {
        var store = new InMemorySessionStore(new InMemorySessionStoreOptions { MaxSessions = 3 }, _time);
        var a = await CreateAsync(store, 1);
        var b = await CreateAsync(store, 2);
        var c = await CreateAsync(store, 3);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.NotNull(await store.LoadAsync(a)); // a is now the most recently used

        var d = await CreateAsync(store, 4);

        Assert.Equal(3, store.Count);
        Assert.Null(await store.LoadAsync(b));
        Assert.NotNull(await store.LoadAsync(a));
        Assert.NotNull(await store.LoadAsync(c));
        Assert.NotNull(await store.LoadAsync(d));
    }

    [Fact]
    public async Task Commit_FloodOfAnonymousSessions_EvictsNoUserBoundSession()
    {
        var store = new InMemorySessionStore(new InMemorySessionStoreOptions { MaxSessions = 10 }, _time);
        var users = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            var session = store.Open(null);
            session.Set("n", i, ContractJsonContext.Default.Int32);
            session.BindUser("user-" + i);
            users.Add((await session.CommitAsync()).Ticket!);
        }

        // An attacker opens anonymous sessions far faster than users come back: each one evicts another anonymous one.
        var anonymous = new List<string>();
        for (var i = 0; i < 1_000; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(1));
            anonymous.Add(await CreateAsync(store, i));
        }

        Assert.Equal(10, store.Count);
        foreach (var user in users)
        {
            Assert.NotNull(await store.LoadAsync(user));
        }

        // Among anonymous sessions the bound is still least-recently-used: the newest six are the ones kept.
        Assert.NotNull(await store.LoadAsync(anonymous[^1]));
        Assert.NotNull(await store.LoadAsync(anonymous[^6]));
        Assert.Null(await store.LoadAsync(anonymous[^7]));
    }

    [Fact]
    public async Task Commit_PastMaxSessionsWithOnlyUserBoundSessions_EvictsTheLeastRecentlyUsedUser()
    {
        var store = new InMemorySessionStore(new InMemorySessionStoreOptions { MaxSessions = 2 }, _time);
        var tickets = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var session = store.Open(null);
            session.Set("n", i, ContractJsonContext.Default.Int32);
            session.BindUser("user-" + i);
            tickets.Add((await session.CommitAsync()).Ticket!);
        }

        Assert.Null(await store.LoadAsync(tickets[0]));
        Assert.NotNull(await store.LoadAsync(tickets[1]));
        Assert.NotNull(await store.LoadAsync(tickets[2]));
    }

    [Fact]
    public async Task Commit_PastMaxBytes_EvictsUntilWithinBound()
    {
        var store = new InMemorySessionStore(new InMemorySessionStoreOptions { MaxBytes = 10_000, MaxPayloadBytes = 4_000 }, _time);
        for (var i = 0; i < 20; i++)
        {
            var session = store.Open(null);
            session.SetBytes("blob", new byte[3_000]);
            await session.CommitAsync();
            Assert.True(store.Bytes <= 10_000, $"store holds {store.Bytes} bytes after {i + 1} sessions");
        }

        Assert.Equal(3, store.Count);
    }

    [Fact]
    public async Task Churn_SessionsCreatedFasterThanTheyExpire_StaysWithinBoundAndCountsEvictions()
    {
        using var collector = new MetricCollector<long>(null, StateKitDiagnostics.MeterName, "statekit.session.evictions");
        var name = Guid.NewGuid().ToString();
        var store = new InMemorySessionStore(new InMemorySessionStoreOptions { MaxSessions = 100, Name = name }, _time);

        for (var i = 0; i < 1_000; i++)
        {
            await CreateAsync(store, i);
            _time.Advance(TimeSpan.FromMilliseconds(10));
        }

        Assert.Equal(100, store.Count);
        Assert.Equal(900, collector.GetMeasurementSnapshot().Where(m => Equals(m.Tags["statekit.store"], name)).Sum(m => m.Value));
    }

    [Fact]
    public async Task Commit_ExpiredSessionsAtTheColdEnd_AreTrimmedWithoutATimer()
    {
        var store = new InMemorySessionStore(new InMemorySessionStoreOptions(), _time);
        for (var i = 0; i < 50; i++)
        {
            await CreateAsync(store, i);
        }

        _time.Advance(StateKitTestDefaults.PastDefaultIdle);
        await CreateAsync(store, 99);

        Assert.Equal(1, store.Count);
        Assert.Equal(1 * (256 + "n".Length + 2), store.Bytes);
    }

    [Fact]
    public async Task Revoke_ReleasesTheBytesItCharged()
    {
        var store = new InMemorySessionStore(new InMemorySessionStoreOptions(), _time);
        var ticket = await CreateAsync(store, 1);
        Assert.True(store.Bytes > 0);

        var session = store.Open(ticket);
        session.Revoke();
        await session.CommitAsync();

        Assert.Equal(0, store.Bytes);
        Assert.Equal(0, store.Count);
    }

    [Fact]
    public void Constructor_InvalidOptions_ReportsEveryProblemAtOnce()
    {
        var options = new InMemorySessionStoreOptions
        {
            IdleTimeout = TimeSpan.Zero,
            AbsoluteLifetime = TimeSpan.FromSeconds(-1),
            MaxPayloadBytes = 0,
            MaxSessions = -5,
            MaxBytes = 0,
        };

        var error = Assert.Throws<OptionsValidationException>(() => new InMemorySessionStore(options));

        Assert.Equal(5, error.Failures.Count());
        Assert.Contains(error.Failures, f => f.Contains("IdleTimeout", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains("AbsoluteLifetime", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains("MaxPayloadBytes", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains("MaxSessions", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains("MaxBytes", StringComparison.Ordinal));
    }

    [Fact]
    public void Constructor_MaxBytesBelowOnePayload_IsRejected()
    {
        var options = new InMemorySessionStoreOptions { MaxBytes = 1_000, MaxPayloadBytes = 2_000 };

        var error = Assert.Throws<OptionsValidationException>(() => new InMemorySessionStore(options));

        Assert.Contains("MaxBytes (1000) must be at least MaxPayloadBytes (2000)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Load_ReturnsSnapshotsThatLaterCommitsDoNotChange()
    {
        var store = new InMemorySessionStore(new InMemorySessionStoreOptions(), _time);
        var ticket = await CreateAsync(store, 1);
        var before = await store.LoadAsync(ticket);

        var session = store.Open(ticket);
        session.Set("n", 2, ContractJsonContext.Default.Int32);
        await session.CommitAsync();

        Assert.Equal("1"u8.ToArray(), before!.Values["n"].ToArray());
        Assert.Equal(1, before.Version);
    }

    [Fact]
    public async Task Commit_CallerReusesItsBuffer_StoredValueIsUnaffected()
    {
        var store = new InMemorySessionStore(new InMemorySessionStoreOptions(), _time);
        var buffer = new byte[] { 1, 2, 3 };
        var result = await store.CommitAsync(new SessionCommit
        {
            Upserts = new Dictionary<string, ReadOnlyMemory<byte>> { ["k"] = buffer },
        });

        buffer[0] = 99;

        Assert.Equal(new byte[] { 1, 2, 3 }, (await store.LoadAsync(result.Ticket!))!.Values["k"].ToArray());
    }

    [Fact]
    public async Task Commit_ThroughStateSession_StoredValueIsIndependentOfCallerBuffer()
    {
        // StateSession copies on SetBytes and hands the store its own arrays (kept without a second copy): the caller's
        // buffer, reused after the commit, must still not reach the stored session or a snapshot handed out earlier.
        var store = new InMemorySessionStore(new InMemorySessionStoreOptions(), _time);
        var buffer = new byte[] { 1, 2, 3 };
        var session = store.Open(null);
        session.SetBytes("k", buffer);
        var ticket = (await session.CommitAsync()).Ticket!;
        buffer[0] = 99;
        var first = await store.LoadAsync(ticket);

        var next = store.Open(ticket);
        await next.LoadAsync();
        buffer[0] = 42;
        next.SetBytes("k", buffer);
        await next.CommitAsync();
        buffer[0] = 7;

        Assert.Equal(new byte[] { 1, 2, 3 }, first!.Values["k"].ToArray());
        Assert.Equal(new byte[] { 42, 2, 3 }, (await store.LoadAsync(ticket))!.Values["k"].ToArray());
    }

    [Fact]
    public async Task Commits_ThatChangeAddRemoveAndClearKeys_MatchTheSharedDeltaSemantics()
    {
        // The store keeps values packed (a shared key set, one value array per version); every kind of delta must leave
        // exactly what SessionPayload.Apply would, charge exactly SessionPayload.Size, and never change an earlier snapshot.
        var store = new InMemorySessionStore(new InMemorySessionStoreOptions(), _time);
        var expected = new Dictionary<string, ReadOnlyMemory<byte>>(StringComparer.Ordinal);
        string? ticket = null;
        var snapshots = new List<(SessionSnapshot Snapshot, Dictionary<string, byte[]> Values)>();
        var steps = new (string[] Set, string[] Remove, bool Clear)[]
        {
            (["a", "b"], [], false),
            (["a"], [], false),                                          // change only: key set shared
            (["b", "c"], ["missing"], false),                            // change plus a new key
            ([.. Enumerable.Range(0, 12).Select(i => "k" + i)], [], false), // past the linear-search size
            (["k3", "k11", "a"], [], false),
            ([], ["k0", "b", "k7"], false),                              // removals only
            (["k5", "é"], ["k5"], false),                                // a removed key written again; a multi-byte key
            (["fresh"], [], true),                                       // clear, then write
        };

        var step = 0;
        foreach (var (set, remove, clear) in steps)
        {
            var upserts = set.ToDictionary(k => k, k => (ReadOnlyMemory<byte>)Enumerable.Repeat((byte)step, k.Length + step).ToArray(), StringComparer.Ordinal);
            var commit = new SessionCommit { Ticket = ticket, Upserts = upserts, Removals = remove, ClearExisting = ticket is not null && clear };
            expected = SessionPayload.Apply(ticket is null ? null : expected, commit);
            var result = await store.CommitAsync(commit);
            ticket = result.Ticket ?? ticket;

            var loaded = (await store.LoadAsync(ticket!))!;
            Assert.Equal(expected.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => (p.Key, p.Value.ToArray())), loaded.Values.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => (p.Key, p.Value.ToArray())));
            Assert.Equal(expected.Count, loaded.Values.Count);
            Assert.All(expected.Keys, k => Assert.True(loaded.Values.ContainsKey(k)));
            Assert.False(loaded.Values.TryGetValue("never", out _));
            Assert.Equal(SessionPayload.Size(expected), SessionPayload.Size(loaded.Values));
            Assert.Equal(SessionPayload.Size(expected) + StateKitDefaults.InMemoryEntryOverheadBytes, store.Bytes);
            snapshots.Add((loaded, loaded.Values.ToDictionary(p => p.Key, p => p.Value.ToArray(), StringComparer.Ordinal)));
            step++;
        }

        foreach (var (snapshot, values) in snapshots)
        {
            Assert.Equal(values.OrderBy(p => p.Key, StringComparer.Ordinal), snapshot.Values.ToDictionary(p => p.Key, p => p.Value.ToArray()).OrderBy(p => p.Key, StringComparer.Ordinal));
        }
    }

    [Fact]
    public async Task Commit_GrowingAnExistingKeyPastTheLimit_IsRejectedAndKeepsTheStoredSession()
    {
        var store = new InMemorySessionStore(new InMemorySessionStoreOptions { MaxPayloadBytes = 100 }, _time);
        var session = store.Open(null);
        session.SetBytes("k", new byte[50]);
        var ticket = (await session.CommitAsync()).Ticket!;

        var next = store.Open(ticket);
        await next.LoadAsync();
        next.SetBytes("k", new byte[100]);

        await Assert.ThrowsAsync<SessionPayloadTooLargeException>(() => next.CommitAsync().AsTask());
        Assert.Equal(50, (await store.LoadAsync(ticket))!.Values["k"].Length);
        Assert.True(next.HasChanges);
        Assert.Equal(51 + StateKitDefaults.InMemoryEntryOverheadBytes, store.Bytes);
    }

    [Fact]
    public async Task Commit_BasedOnASnapshotWhoseSessionWasRevokedRotatedOrExpired_DoesNotReachIt()
    {
        // A snapshot carries the store's entry so that its commit skips the lookup; the entry must still be live, under
        // the committed ticket and unexpired, exactly as a lookup would require.
        var store = new InMemorySessionStore(new InMemorySessionStoreOptions(), _time);
        var upsert = new Dictionary<string, ReadOnlyMemory<byte>> { ["k"] = new byte[] { 1 } };

        var revoked = await CreateAsync(store, 1);
        var revokedBase = await store.LoadAsync(revoked);
        await store.RevokeAsync(revoked);
        Assert.Equal(SessionCommitOutcome.NotFound, (await store.CommitAsync(new SessionCommit { Ticket = revoked, Base = revokedBase, Upserts = upsert })).Outcome);

        var rotated = await CreateAsync(store, 1);
        var rotatedBase = await store.LoadAsync(rotated);
        var rotation = await store.CommitAsync(new SessionCommit { Ticket = rotated, Base = rotatedBase, RotateId = true });
        Assert.Equal(SessionCommitOutcome.NotFound, (await store.CommitAsync(new SessionCommit { Ticket = rotated, Base = rotatedBase, Upserts = upsert })).Outcome);
        Assert.Equal(SessionCommitOutcome.Committed, (await store.CommitAsync(new SessionCommit { Ticket = rotation.Ticket, Base = rotatedBase, Upserts = upsert })).Outcome);

        var expired = await CreateAsync(store, 1);
        var expiredBase = await store.LoadAsync(expired);
        _time.Advance(new InMemorySessionStoreOptions().IdleTimeout);
        Assert.Equal(SessionCommitOutcome.NotFound, (await store.CommitAsync(new SessionCommit { Ticket = expired, Base = expiredBase, Upserts = upsert })).Outcome);

        // A snapshot from another store instance never stands in for this store's lookup.
        var other = new InMemorySessionStore(new InMemorySessionStoreOptions(), _time);
        var foreign = await CreateAsync(other, 1);
        var foreignBase = await other.LoadAsync(foreign);
        Assert.Equal(SessionCommitOutcome.NotFound, (await store.CommitAsync(new SessionCommit { Ticket = foreign, Base = foreignBase, Upserts = upsert })).Outcome);
        Assert.Null(await store.LoadAsync(foreign));
    }

    [Fact]
    public async Task Size_OfALoadedSnapshotsValues_IsWhatTheSameValuesMeasureAsADictionary()
    {
        var store = new InMemorySessionStore(new InMemorySessionStoreOptions(), _time);
        var session = store.Open(null);
        session.SetBytes("blob", new byte[300]);
        session.SetBytes("ключ", new byte[7]);
        var ticket = (await session.CommitAsync()).Ticket!;

        var values = (await store.LoadAsync(ticket))!.Values;

        Assert.Equal(SessionPayload.Size(values.ToDictionary(p => p.Key, p => p.Value)), SessionPayload.Size(values));
        Assert.Equal(4 + 300 + 8 + 7, SessionPayload.Size(values));
    }

    private static async Task<string> CreateAsync(ISessionStore store, int value)
    {
        var session = store.Open(null);
        session.Set("n", value, ContractJsonContext.Default.Int32);
        return (await session.CommitAsync()).Ticket!;
    }
}
