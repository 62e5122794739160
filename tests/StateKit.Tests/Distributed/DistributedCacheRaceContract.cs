using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Time.Testing;
using StateKit.Distributed;

namespace StateKit.Tests.Distributed;

/// <summary>
/// Issue 13 item 3: a revocation that has returned is never undone by a commit that read the session before it and
/// writes after it. Each test holds one cache call of the store at a chosen point (<see cref="GatedDistributedCache"/>)
/// and puts the revocation exactly there. One subclass per real backend.
/// </summary>
public abstract class DistributedCacheRaceContract
{
    private const string Prefix = "statekit:";
    private GatedDistributedCache? _cache;
    private DistributedCacheSessionStore? _store;

    public enum Revocation
    {
        RevokeAsync,
        RevokingCommit,
        EmptyingCommit,
    }

    protected FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));

    private GatedDistributedCache Cache => _cache ??= new GatedDistributedCache(CreateBackend());

    private DistributedCacheSessionStore Store => _store ??= new DistributedCacheSessionStore(
        Cache,
        new DistributedCacheSessionStoreOptions { IdleTimeout = TimeSpan.FromMinutes(20), AbsoluteLifetime = TimeSpan.FromHours(8), KeyPrefix = Prefix },
        Time);

    [Theory]
    [InlineData(Revocation.RevokeAsync)]
    [InlineData(Revocation.RevokingCommit)]
    [InlineData(Revocation.EmptyingCommit)]
    public async Task Commit_RevokedBetweenItsReadAndItsWrite_SessionStaysGone(Revocation how)
    {
        var ticket = await CreateAsync();
        var write = Cache.Hold(GatedDistributedCache.Operation.Set, k => k == Prefix + ticket);
        var commit = Store.CommitAsync(Upsert(ticket)).AsTask();
        await write.Reached;

        await RevokeAsync(ticket, how);
        write.Release();
        var result = await commit;

        Assert.Null(await Store.LoadAsync(ticket));
        Assert.Equal(SessionCommitOutcome.NotFound, result.Outcome);
    }

    [Fact]
    public async Task Load_AfterARacingWriteLandsAndBeforeItIsUndone_ReturnsNothing()
    {
        var ticket = await CreateAsync();
        var read = Cache.Hold(GatedDistributedCache.Operation.Get, k => k == Prefix + ticket, after: true);
        var commit = Store.CommitAsync(Upsert(ticket)).AsTask();
        await read.Reached;
        var written = Cache.Hold(GatedDistributedCache.Operation.Set, k => k == Prefix + ticket, after: true);

        Assert.True(await Store.RevokeAsync(ticket));
        read.Release();
        await written.Reached;

        // The stale write is in the cache now; the commit has not yet seen that it must undo it.
        Assert.Null(await Store.LoadAsync(ticket));
        written.Release();
        await commit;
        Assert.Null(await Store.LoadAsync(ticket));
    }

    [Fact]
    public async Task Commit_RevokedAfterItsWrite_SessionStaysGone()
    {
        var ticket = await CreateAsync();
        var written = Cache.Hold(GatedDistributedCache.Operation.Set, k => k == Prefix + ticket, after: true);
        var commit = Store.CommitAsync(Upsert(ticket)).AsTask();
        await written.Reached;

        Assert.True(await Store.RevokeAsync(ticket));
        written.Release();
        await commit;

        Assert.Null(await Store.LoadAsync(ticket));
    }

    [Fact]
    public async Task Commit_RevokedBeforeItsRead_IsNotFound()
    {
        var ticket = await CreateAsync();
        Assert.True(await Store.RevokeAsync(ticket));

        var result = await Store.CommitAsync(Upsert(ticket));

        Assert.Equal(SessionCommitOutcome.NotFound, result.Outcome);
        Assert.Null(await Store.LoadAsync(ticket));
    }

    [Fact]
    public async Task Rotation_RevokedBetweenItsReadAndItsWrite_NewIdIsNotLive()
    {
        var ticket = await CreateAsync();
        var write = Cache.Hold(GatedDistributedCache.Operation.Set, k => IsSessionKey(k) && k != Prefix + ticket);
        var rotation = Store.CommitAsync(new SessionCommit { Ticket = ticket, RotateId = true }).AsTask();
        await write.Reached;

        Assert.True(await Store.RevokeAsync(ticket));
        write.Release();
        var result = await rotation;

        Assert.Equal(SessionCommitOutcome.NotFound, result.Outcome);
        Assert.Null(await Store.LoadAsync(ticket));
        if (result.Ticket is not null)
        {
            Assert.Null(await Store.LoadAsync(result.Ticket));
        }
    }

    [Fact]
    public async Task Commit_OnTheOldIdWhileItRotates_DoesNotBringTheOldTicketBack()
    {
        var ticket = await CreateAsync();
        var write = Cache.Hold(GatedDistributedCache.Operation.Set, k => k == Prefix + ticket);
        var stale = Store.CommitAsync(Upsert(ticket)).AsTask();
        await write.Reached;

        var rotated = await Store.CommitAsync(new SessionCommit { Ticket = ticket, RotateId = true });
        write.Release();
        await stale;

        Assert.Equal(SessionCommitOutcome.Committed, rotated.Outcome);
        Assert.Null(await Store.LoadAsync(ticket));
        Assert.Equal("alice", (await Store.LoadAsync(rotated.Ticket!))!.UserId);
    }

    /// <summary>The real cache under the gates; deadlines the store computes on <see cref="Time"/>.</summary>
    protected abstract IDistributedCache CreateBackend();

    private static bool IsSessionKey(string key) => key.StartsWith(Prefix, StringComparison.Ordinal) && key.Length == Prefix.Length + SessionIds.Length;

    private static SessionCommit Upsert(string ticket) => new()
    {
        Ticket = ticket,
        Upserts = new Dictionary<string, ReadOnlyMemory<byte>> { ["cart"] = new byte[] { 2 } },
    };

    private async Task<string> CreateAsync()
    {
        var result = await Store.CommitAsync(new SessionCommit
        {
            Upserts = new Dictionary<string, ReadOnlyMemory<byte>> { ["cart"] = new byte[] { 1 } },
            BindUserId = "alice",
        });
        return result.Ticket!;
    }

    private async Task RevokeAsync(string ticket, Revocation how)
    {
        switch (how)
        {
            case Revocation.RevokeAsync:
                Assert.True(await Store.RevokeAsync(ticket));
                break;
            case Revocation.RevokingCommit:
                Assert.Equal(SessionCommitOutcome.Deleted, (await Store.CommitAsync(new SessionCommit { Ticket = ticket, Revoke = true })).Outcome);
                break;
            default:
                Assert.Equal(SessionCommitOutcome.Deleted, (await Store.CommitAsync(new SessionCommit { Ticket = ticket, ClearExisting = true })).Outcome);
                break;
        }
    }
}
