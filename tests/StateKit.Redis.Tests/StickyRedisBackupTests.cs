using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using StateKit.Redis.Testing;
using StateKit.Sticky;

namespace StateKit.Redis.Tests;

/// <summary>A sticky store whose backup is the Redis store on a real server: the exact commits write-behind sends.</summary>
public sealed class StickyRedisBackupTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    private static readonly StickyKey Key = new() { Id = "k1", Secret = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray() };

    [Fact]
    public async Task WriteBehind_ManySessionsQueued_ReachRedisConcurrentlyWithTheirLatestState()
    {
        // One write at a time, a node's queue held every busy session behind Redis round trips, and a crash lost the last
        // change of each (ClusterDemo: 30 sessions). The replicator now sends a batch of sessions together.
        var backing = new RedisSessionStore(redis.Redis, new RedisSessionStoreOptions { KeyPrefix = RedisFixture.UniquePrefix("sticky") });
        var backup = new HeldBackup(backing);
        var options = new StickySessionStoreOptions { NodeId = "a", Name = "sticky-redis-" + Guid.NewGuid().ToString("N") };
        options.Keys.Add(Key);
        await using var node = new StickySessionStore(options, backup);
        var sessions = new List<(string Ticket, string Id)>();
        for (var i = 0; i < 40; i++)
        {
            var created = await node.CommitAsync(new SessionCommit { Upserts = Cart(0) });
            sessions.Add((created.Ticket!, created.SessionId!));
        }

        // The first replication waits at the gate; every other session changes meanwhile and queues behind it.
        await node.CommitAsync(new SessionCommit { Ticket = sessions[0].Ticket, Upserts = Cart(1) });
        await backup.WaitUntilHeldAsync();
        for (var i = 1; i < 40; i++)
        {
            await node.CommitAsync(new SessionCommit { Ticket = sessions[i].Ticket, Upserts = Cart(i + 1) });
        }

        Assert.Equal(39, node.BackupQueueLength);
        backup.Open();

        var watch = Stopwatch.StartNew();
        for (var i = 0; i < 40; i++)
        {
            while (await CartInRedisAsync(backing, sessions[i].Id) != i + 1)
            {
                Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"session {i} never reached Redis with its latest state");
                await Task.Delay(5);
            }
        }

        Assert.True(backup.MaxInFlight > 1, $"at most {backup.MaxInFlight} write(s) to Redis in flight at once: the queue drains one round trip per session");
        Assert.False(backup.Overlapped, "two writes of one session were in flight at once: an older copy could overwrite a newer one");
    }

    private static Dictionary<string, ReadOnlyMemory<byte>> Cart(int n) => new(StringComparer.Ordinal) { ["cart"] = Encoding.UTF8.GetBytes(n.ToString(System.Globalization.CultureInfo.InvariantCulture)) };

    private static async Task<int?> CartInRedisAsync(RedisSessionStore store, string id)
    {
        var session = await store.LoadAsync(id);
        return session is null ? null : int.Parse(Encoding.UTF8.GetString(session.Values["cart"].Span), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The Redis store, with a gate before the first write-behind write, counting how many writes are in flight at once.</summary>
    private sealed class HeldBackup(ISessionStore inner) : ISessionStore
    {
        private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _held = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly HashSet<string> _writing = new(StringComparer.Ordinal);
        private int _inFlight;
        private int _maxInFlight;

        public SessionStoreCapabilities Capabilities => inner.Capabilities;

        public int MaxInFlight => Volatile.Read(ref _maxInFlight);

        public bool Overlapped { get; private set; }

        public void Open() => _gate.TrySetResult();

        public Task WaitUntilHeldAsync() => _held.Task.WaitAsync(TimeSpan.FromSeconds(10));

        public ValueTask<SessionSnapshot?> LoadAsync(string ticket, CancellationToken cancellationToken = default) => inner.LoadAsync(ticket, cancellationToken);

        public async ValueTask<SessionCommitResult> CommitAsync(SessionCommit commit, CancellationToken cancellationToken = default)
        {
            if (commit.Ticket is null || commit.Revoke)
            {
                return await inner.CommitAsync(commit, cancellationToken);
            }

            // The write-behind shape: the whole session, blind, over what Redis holds.
            Assert.True(commit.ClearExisting);
            Assert.Null(commit.Base);
            if (_held.TrySetResult())
            {
                await _gate.Task.WaitAsync(cancellationToken);
            }

            lock (_writing)
            {
                Overlapped |= !_writing.Add(commit.Ticket);
            }

            var now = Interlocked.Increment(ref _inFlight);
            int max;
            while (now > (max = Volatile.Read(ref _maxInFlight)) && Interlocked.CompareExchange(ref _maxInFlight, now, max) != max)
            {
            }

            try
            {
                return await inner.CommitAsync(commit, cancellationToken);
            }
            finally
            {
                Interlocked.Decrement(ref _inFlight);
                lock (_writing)
                {
                    _writing.Remove(commit.Ticket);
                }
            }
        }

        public ValueTask<bool> RevokeAsync(string sessionId, CancellationToken cancellationToken = default) => inner.RevokeAsync(sessionId, cancellationToken);

        public ValueTask<int> RevokeUserAsync(string userId, CancellationToken cancellationToken = default) => inner.RevokeUserAsync(userId, cancellationToken);
    }
}
