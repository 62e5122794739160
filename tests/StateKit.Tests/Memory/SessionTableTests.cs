using System;
using System.Collections.Generic;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using StateKit.Memory;

namespace StateKit.Tests.Memory;

/// <summary>
/// The table both process-held stores keep their sessions in, driven directly: what it accounts (entries, bytes, users)
/// after each kind of write. A session of one key "k" and an n-byte value is charged n + 1 bytes plus the fixed overhead.
/// </summary>
public sealed class SessionTableTests
{
    private const int Overhead = StateKitDefaults.InMemoryEntryOverheadBytes;

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));

    [Fact]
    public void Create_PastMaxSessions_EvictsTheLeastRecentlyUsedNotTheLeastRecentlyCreated()
    {
        var table = Table(new InMemorySessionStoreOptions { MaxSessions = 3 });
        var a = Create(table, 10);
        var b = Create(table, 10);
        var c = Create(table, 10);
        Assert.NotNull(table.Load(a)); // a moves to the hot end; b is now the coldest

        var d = Create(table, 10);

        Assert.Equal(3, table.Count);
        Assert.Equal(3 * (Overhead + 11), table.Bytes);
        Assert.Null(table.Peek(b));
        Assert.NotNull(table.Peek(a));
        Assert.NotNull(table.Peek(c));
        Assert.NotNull(table.Peek(d));
    }

    [Fact]
    public void Create_PastMaxBytes_EvictsFromTheColdEndUntilWithinTheBound()
    {
        var table = Table(new InMemorySessionStoreOptions { MaxBytes = 3_000, MaxPayloadBytes = 1_000 });
        var first = Create(table, 900);
        var second = Create(table, 900);
        var third = Create(table, 900); // 3 x 1,157 = 3,471 > 3,000: the first goes

        Assert.Equal(2, table.Count);
        Assert.Equal(2 * (Overhead + 901), table.Bytes);
        Assert.Null(table.Peek(first));
        Assert.NotNull(table.Peek(second));
        Assert.NotNull(table.Peek(third));
    }

    [Fact]
    public void Peek_DoesNotMoveTheSessionInTheLruOrder()
    {
        var table = Table(new InMemorySessionStoreOptions { MaxSessions = 2 });
        var a = Create(table, 1);
        var b = Create(table, 1);
        Assert.NotNull(table.Peek(a)); // a Load here would save a

        Create(table, 1);

        Assert.Null(table.Peek(a));
        Assert.NotNull(table.Peek(b));
    }

    [Fact]
    public void Commit_OverwriteAndRemoval_ChargeTheNewSizeAndReleaseIt()
    {
        var table = Table(new InMemorySessionStoreOptions());
        var id = Create(table, 100);
        Assert.Equal(Overhead + 101, table.Bytes);

        var grown = table.Commit(Upsert("k", 400), id, rotateId: false);
        Assert.Equal(SessionCommitOutcome.Committed, grown.Outcome);
        Assert.Equal(Overhead + 401, table.Bytes);

        table.Commit(Upsert("other", 50), id, rotateId: false);
        Assert.Equal(Overhead + 401 + 55, table.Bytes);

        table.Commit(new SessionCommit { Removals = ["k"] }, id, rotateId: false);
        Assert.Equal(Overhead + 55, table.Bytes);

        Assert.True(table.Remove(id));
        Assert.Equal(0, table.Bytes);
        Assert.Equal(0, table.Count);
        Assert.False(table.Remove(id));
    }

    [Fact]
    public void Commit_RemovingTheLastKey_DeletesTheEntryAndReleasesItsBytes()
    {
        var table = Table(new InMemorySessionStoreOptions());
        var id = Create(table, 100);

        var result = table.Commit(new SessionCommit { Removals = ["k"] }, id, rotateId: false);

        Assert.Equal(SessionCommitOutcome.Deleted, result.Outcome);
        Assert.Equal(0, table.Count);
        Assert.Equal(0, table.Bytes);
    }

    [Fact]
    public void Import_OverAnExistingCopy_ReplacesItAndChargesOnlyTheNewOne()
    {
        var table = Table(new InMemorySessionStoreOptions());
        var id = Create(table, 100, user: "alice");
        var copy = new SessionSnapshot(id, 7, new Dictionary<string, ReadOnlyMemory<byte>> { ["k"] = new byte[300] })
        {
            CreatedAt = _time.GetUtcNow(),
            LastAccessedAt = _time.GetUtcNow(),
            AbsoluteExpiresAt = _time.GetUtcNow().AddHours(1),
            IdleTimeout = TimeSpan.FromMinutes(20),
            UserId = "bob",
        };

        var imported = table.Import(copy);

        Assert.Equal(7, imported.Version);
        Assert.Equal(1, table.Count);
        Assert.Equal(Overhead + 301, table.Bytes);
        Assert.Empty(table.SessionIdsOf("alice"));
        Assert.Equal([id], table.SessionIdsOf("bob"));
    }

    [Fact]
    public void UserIndex_FollowsBindingRotationAndRemoval()
    {
        var table = Table(new InMemorySessionStoreOptions());
        var one = Create(table, 1, user: "alice");
        var two = Create(table, 1, user: "alice");
        Create(table, 1, user: "bob");

        var rotated = table.Commit(new SessionCommit { RotateId = true }, one, rotateId: true);
        var moved = rotated.SessionId!;

        Assert.NotEqual(one, moved);
        Assert.Equal(new HashSet<string> { moved, two }, new HashSet<string>(table.SessionIdsOf("alice")));

        table.Commit(new SessionCommit { BindUserId = "bob" }, two, rotateId: false);
        Assert.Equal([moved], table.SessionIdsOf("alice"));
        Assert.Equal(2, table.SessionIdsOf("bob").Count);

        Assert.Equal(2, table.RemoveUser("bob"));
        Assert.Empty(table.SessionIdsOf("bob"));
        Assert.Equal(1, table.Count);
        Assert.Equal(Overhead + 2, table.Bytes);
    }

    [Fact]
    public void RemoveUser_CountsOnlyLiveSessionsButReleasesEveryOne()
    {
        var table = Table(new InMemorySessionStoreOptions { IdleTimeout = TimeSpan.FromMinutes(1) });
        Create(table, 1, user: "alice");
        _time.Advance(TimeSpan.FromMinutes(2));
        Create(table, 1, user: "alice");

        Assert.Single(table.SessionIdsOf("alice"));
        Assert.Equal(1, table.RemoveUser("alice"));
        Assert.Equal(0, table.Count);
        Assert.Equal(0, table.Bytes);
    }

    [Fact]
    public void Commit_BasedOnAnotherTablesSnapshot_LooksTheIdUpInstead()
    {
        var table = Table(new InMemorySessionStoreOptions());
        var other = Table(new InMemorySessionStoreOptions());
        var id = Create(table, 1);
        var foreignId = Create(other, 1);
        var foreignBase = other.Load(foreignId);
        Assert.NotNull(foreignBase?.TableEntry);

        // The base names another table's entry: this table ignores it and finds its own session by id, or none.
        var mine = table.Commit(Upsert("k", 2, basedOn: foreignBase), id, rotateId: false);
        var unknown = table.Commit(Upsert("k", 2, basedOn: foreignBase), foreignId, rotateId: false);

        Assert.Equal(SessionCommitOutcome.Committed, mine.Outcome);
        Assert.Equal(SessionCommitOutcome.NotFound, unknown.Outcome);
    }

    [Fact]
    public void Commit_BasedOnAnEntryRemovedSince_IsNotFound()
    {
        var table = Table(new InMemorySessionStoreOptions());
        var id = Create(table, 1);
        var loaded = table.Load(id);
        Assert.True(table.Remove(id));

        var result = table.Commit(Upsert("k", 2, basedOn: loaded), id, rotateId: false);

        Assert.Equal(SessionCommitOutcome.NotFound, result.Outcome);
        Assert.Equal(0, table.Bytes);
    }

    [Fact]
    public void LiveSessions_ListsTheMostRecentlyUsedFirstAndSkipsExpiredOnes()
    {
        var table = Table(new InMemorySessionStoreOptions { IdleTimeout = TimeSpan.FromMinutes(1) });
        var expired = Create(table, 1);
        _time.Advance(TimeSpan.FromMinutes(2));
        var a = Create(table, 1);
        var b = Create(table, 1);
        table.Load(a);

        var live = table.LiveSessions();

        Assert.Equal([a, b], live.ConvertAll(s => s.Id));
        Assert.Null(table.Peek(expired));
    }

    private static SessionCommit Upsert(string key, int bytes, string? user = null, SessionSnapshot? basedOn = null)
        => new() { Upserts = new Dictionary<string, ReadOnlyMemory<byte>> { [key] = new byte[bytes] }, BindUserId = user, Base = basedOn };

    private SessionTable Table(InMemorySessionStoreOptions options) => new(options, "table-tests", _time, NullLogger.Instance);

    private static string Create(SessionTable table, int bytes, string? user = null)
    {
        var result = table.Create(Upsert("k", bytes, user));
        Assert.Equal(SessionCommitOutcome.Committed, result.Outcome);
        return result.SessionId!;
    }
}
