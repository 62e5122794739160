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

    private static async Task<string> CreateAsync(ISessionStore store, int value)
    {
        var session = store.Open(null);
        session.Set("n", value, ContractJsonContext.Default.Int32);
        return (await session.CommitAsync()).Ticket!;
    }
}
