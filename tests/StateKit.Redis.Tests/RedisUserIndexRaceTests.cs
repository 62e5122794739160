using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;
using StateKit.Redis.Testing;

namespace StateKit.Redis.Tests;

/// <summary>
/// Issue 13 item 3: "sign out everywhere" racing a sign-in (create), a rotation or a bind never leaves a live session of
/// that user outside the user's index, and the index's prune never drops one. Each test holds one script of the store
/// (<see cref="GatedRedis"/>) and runs the other operation exactly there; the last one drives the same property with a
/// seeded random mix of concurrent operations.
/// </summary>
public sealed class RedisUserIndexRaceTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
    private readonly string _prefix = RedisFixture.UniquePrefix("index-race");
    private GatedRedis? _gated;
    private RedisSessionStore? _store;

    private GatedRedis Gated => _gated ??= new GatedRedis(redis.Redis);

    private RedisSessionStore Store => _store ??= new RedisSessionStore(Gated.Multiplexer, new RedisSessionStoreOptions { KeyPrefix = _prefix }, _time);

    [Fact]
    public async Task Create_PrunedByAnotherSignInBeforeItsKeyExists_StaysInTheIndex()
    {
        var created = Gated.Hold(RedisScripts.Create);
        var first = Store.CommitAsync(NewSession("ana")).AsTask();
        await created.Reached;

        // A second sign-in of the same user reads the index, finds the first id without a key yet, and prunes it.
        var second = await Store.CommitAsync(NewSession("ana"));
        created.Release();
        var a = (await first).Ticket!;

        await AssertEveryLiveSessionIndexedAsync("ana", a, second.Ticket!);
        Assert.Equal(2, await Store.RevokeUserAsync("ana"));
        Assert.Null(await Store.LoadAsync(a));
    }

    [Fact]
    public async Task Create_ListingReadsItBeforeItsKeyExistsAndPrunesAfter_DoesNotDeleteTheNewSession()
    {
        // An account page listing the user while the same user signs in elsewhere: the listing finds the new id without a
        // key (the create is held), counts it dead, and its prune runs only once the create has written the session.
        var created = Gated.Hold(RedisScripts.Create);
        var signIn = Store.CommitAsync(NewSession("ana")).AsTask();
        await created.Reached;
        var pruned = Gated.Hold(RedisScripts.Revoke);
        var listing = Store.ListUserSessionsAsync("ana").AsTask();
        await pruned.Reached;

        created.Release();
        var ticket = (await signIn).Ticket;
        pruned.Release();
        await listing;

        // A create the prune got to first starts over under a new id; either way the session it returns is live and indexed.
        Assert.NotNull(ticket);
        Assert.NotNull(await Store.LoadAsync(ticket!));
        await AssertEveryLiveSessionIndexedAsync("ana", ticket!);
    }

    [Fact]
    public async Task Create_RevokeUserBetweenItsIndexEntryAndItsKey_StaysInTheIndex()
    {
        var created = Gated.Hold(RedisScripts.Create);
        var signIn = Store.CommitAsync(NewSession("ana")).AsTask();
        await created.Reached;

        await Store.RevokeUserAsync("ana");
        created.Release();
        var result = await signIn;

        // The sign-in may land after the sign-out (it overlapped it), but then the next sign-out must find it.
        await AssertEveryLiveSessionIndexedAsync("ana", result.Ticket!);
        Assert.Equal(1, await Store.RevokeUserAsync("ana"));
        Assert.Null(await Store.LoadAsync(result.Ticket!));
    }

    [Fact]
    public async Task Bind_RevokeUserBetweenItsIndexEntryAndItsCommit_StaysInTheIndex()
    {
        var ticket = (await Store.CommitAsync(NewSession(null))).Ticket!;
        var committed = Gated.Hold(RedisScripts.Commit, k => k == SessionKey(ticket));
        var bind = Store.CommitAsync(new SessionCommit { Ticket = ticket, BindUserId = "ana" }).AsTask();
        await committed.Reached;

        await Store.RevokeUserAsync("ana");
        committed.Release();
        Assert.Equal(SessionCommitOutcome.Committed, (await bind).Outcome);

        await AssertEveryLiveSessionIndexedAsync("ana", ticket);
        Assert.Equal(1, await Store.RevokeUserAsync("ana"));
        Assert.Null(await Store.LoadAsync(ticket));
    }

    [Fact]
    public async Task Rotation_RevokeUserReadsTheNewIdBeforeItsKeyExists_NewIdStaysInTheIndex()
    {
        var old = (await Store.CommitAsync(NewSession("ana"))).Ticket!;
        var imported = Gated.Hold(RedisScripts.Import);
        var rotation = Store.CommitAsync(new SessionCommit { Ticket = old, RotateId = true }).AsTask();
        await imported.Reached;

        // Sign-out everywhere reads {old, new}; its revoke of the new id runs now (no key yet), its revoke of the old id
        // only once the rotation has finished.
        var revokedOld = Gated.Hold(RedisScripts.Revoke, k => k == SessionKey(old));
        var revokedNew = Gated.Hold(RedisScripts.Revoke, k => k != SessionKey(old), after: true);
        var signOut = Store.RevokeUserAsync("ana").AsTask();
        await revokedOld.Reached;
        await revokedNew.Reached;
        revokedNew.Release();
        imported.Release();
        var rotated = await rotation;
        revokedOld.Release();
        await signOut;

        Assert.Equal(SessionCommitOutcome.Committed, rotated.Outcome);
        await AssertEveryLiveSessionIndexedAsync("ana", rotated.Ticket!);
        Assert.Equal(1, await Store.RevokeUserAsync("ana"));
        Assert.Null(await Store.LoadAsync(rotated.Ticket!));
    }

    [Fact]
    public async Task Stress_ConcurrentSignInsRotationsBindsAndSignOuts_KeepEveryLiveSessionIndexed()
    {
        // Fixed seed, bounded: 60 rounds of 5 concurrent operations over 3 users, each round checked once it has settled.
        var random = new Random(1313);
        string[] users = ["ana", "bo", "cy"];
        var tickets = new List<string>();
        for (var round = 0; round < 60; round++)
        {
            var revokedIds = new List<string>();
            var operations = new List<Task>();
            for (var j = 0; j < 5; j++)
            {
                var user = users[random.Next(users.Length)];
                var ticket = tickets.Count > 0 ? tickets[random.Next(tickets.Count)] : null;
                switch (random.Next(ticket is null ? 1 : 6))
                {
                    case 0:
                        operations.Add(Track(Store.CommitAsync(NewSession(random.Next(4) == 0 ? null : user)).AsTask()));
                        break;
                    case 1:
                        operations.Add(Track(Store.CommitAsync(new SessionCommit { Ticket = ticket, RotateId = true }).AsTask()));
                        break;
                    case 2:
                        operations.Add(Track(Store.CommitAsync(new SessionCommit { Ticket = ticket, RotateId = true, BindUserId = user }).AsTask()));
                        break;
                    case 3:
                        operations.Add(Track(Store.CommitAsync(new SessionCommit { Ticket = ticket, BindUserId = user }).AsTask()));
                        break;
                    case 4:
                        revokedIds.Add(ticket!);
                        operations.Add(Store.RevokeAsync(ticket!).AsTask());
                        break;
                    default:
                        operations.Add(Store.RevokeUserAsync(user).AsTask());
                        break;
                }
            }

            await Task.WhenAll(operations);
            foreach (var id in revokedIds)
            {
                Assert.Null(await Store.LoadAsync(id));
            }

            await AssertEveryLiveSessionIndexedAsync(users);
        }

        async Task Track(Task<SessionCommitResult> commit)
        {
            var result = await commit;
            if (result.Ticket is not null)
            {
                lock (tickets)
                {
                    tickets.Add(result.Ticket);
                }
            }
        }
    }

    private static SessionCommit NewSession(string? user) => new()
    {
        Upserts = new Dictionary<string, ReadOnlyMemory<byte>> { ["cart"] = new byte[] { 1 } },
        BindUserId = user,
    };

    private string SessionKey(string id) => $"{_prefix}s:{{{id}}}";

    /// <summary>Scans every session key of this test: each live session bound to <paramref name="user"/> is in its index.</summary>
    private async Task AssertEveryLiveSessionIndexedAsync(string user, params string[] mustBeLive)
    {
        var live = await AssertEveryLiveSessionIndexedAsync([user]);
        foreach (var id in mustBeLive)
        {
            Assert.Contains(id, live);
        }
    }

    /// <summary>One scan of every session key of this test: each live session bound to one of <paramref name="users"/> is in that user's index.</summary>
    private async Task<List<string>> AssertEveryLiveSessionIndexedAsync(string[] users)
    {
        var admin = redis.Admin.GetDatabase();
        var indexes = new Dictionary<string, HashSet<string>>();
        foreach (var user in users)
        {
            indexes[user] = (await admin.SetMembersAsync($"{_prefix}u:{{{user}}}")).Select(m => (string)m!).ToHashSet();
        }

        var live = new List<string>();
        await foreach (var key in redis.Admin.GetServers()[0].KeysAsync(pattern: _prefix + "s:*"))
        {
            var id = key.ToString()[(_prefix.Length + 3)..^1];
            var session = await Store.LoadAsync(id);
            if (session?.UserId is { } user && indexes.TryGetValue(user, out var index))
            {
                live.Add(id);
                Assert.True(index.Contains(id), $"Live session of {user} outside the index ({index.Count} indexed).");
            }
        }

        return live;
    }
}
