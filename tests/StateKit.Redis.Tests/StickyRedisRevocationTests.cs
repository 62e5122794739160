using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using StateKit.Caching;
using StateKit.Redis.Testing;
using StateKit.Sticky;

namespace StateKit.Redis.Tests;

/// <summary>
/// Sticky nodes over a real Redis server: the backup is the Redis store, revocations travel over Redis pub/sub. After a
/// revocation returns and its message has reached every node (awaited, not slept on), no node serves the session.
/// </summary>
public sealed class StickyRedisRevocationTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    private static readonly StickyKey Key = new() { Id = "k1", Secret = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray() };

    [Fact]
    public async Task Stress_RandomReadsWritesAndRevocationsOnThreeNodes_NoNodeServesARevokedSession()
    {
        var prefix = RedisFixture.UniquePrefix("sticky-revoke");
        var backup = new RedisSessionStore(redis.Redis, new RedisSessionStoreOptions { KeyPrefix = prefix });
        var nodes = new List<Node>();
        for (var i = 0; i < 3; i++)
        {
            nodes.Add(await Node.StartAsync(redis, backup, prefix, "n" + i));
        }

        try
        {
            var random = new Random(1313);
            var sessions = new List<Session>();
            var users = new[] { "ana", "ben", "cy", "dee" };
            for (var step = 0; step < 60; step++)
            {
                // Sequentially: new sessions, a third of them bound to a user.
                for (var i = 0; i < 2; i++)
                {
                    var node = nodes[random.Next(nodes.Count)];
                    var user = random.Next(3) == 0 ? users[random.Next(users.Length)] : null;
                    var created = await node.Store.CommitAsync(new SessionCommit { Upserts = Cart(1), BindUserId = user });
                    sessions.Add(new Session(created.SessionId!, user, created.Ticket!));
                }

                // Concurrently: reads and writes on any node (taking sessions over from the backup), racing revocations.
                var live = sessions.Where(s => !s.Revoked).ToList();
                var revokedIds = new List<Session>();
                string? revokedUser = null;
                var batch = new List<Task>();
                for (var i = 0; i < 4; i++)
                {
                    var node = nodes[random.Next(nodes.Count)];
                    var session = live[random.Next(live.Count)];
                    var ticket = session.Tickets[random.Next(session.Tickets.Count)];
                    switch (random.Next(6))
                    {
                        case 0:
                            revokedIds.Add(session);
                            batch.Add(node.Store.RevokeAsync(session.Id).AsTask());
                            break;
                        case 1 when revokedUser is null:
                            revokedUser = users[random.Next(users.Length)];
                            batch.Add(node.Store.RevokeUserAsync(revokedUser).AsTask());
                            break;
                        case 2 or 3:
                            batch.Add(WriteAsync(node.Store, session, ticket));
                            break;
                        default:
                            batch.Add(ReadAsync(node.Store, session, ticket));
                            break;
                    }
                }

                await Task.WhenAll(batch);

                // The documented bound: the message has reached every node.
                foreach (var node in nodes)
                {
                    foreach (var session in revokedIds)
                    {
                        await node.HeardAsync("id:" + session.Id);
                    }

                    if (revokedUser is not null)
                    {
                        await node.HeardAsync("user:" + revokedUser);
                    }
                }

                foreach (var session in sessions.Where(s => revokedIds.Contains(s) || (revokedUser is not null && s.User == revokedUser)))
                {
                    session.Revoked = true;
                }

                foreach (var session in sessions.Where(s => s.Revoked))
                {
                    foreach (var node in nodes)
                    {
                        foreach (var ticket in session.Tickets)
                        {
                            Assert.True(await node.Store.LoadAsync(ticket) is null, $"step {step}: node {node.Store.NodeId} serves revoked session {session.Id}");
                        }
                    }
                }
            }

            Assert.Contains(sessions, s => s.Revoked && s.User is not null);
            Assert.Contains(sessions, s => !s.Revoked);
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }
        }
    }

    private static async Task WriteAsync(StickySessionStore store, Session session, string ticket)
    {
        var result = await store.CommitAsync(new SessionCommit { Ticket = ticket, Upserts = Cart(2) });
        if (result.Ticket is { } next)
        {
            lock (session.Tickets)
            {
                session.Tickets.Add(next);
            }
        }
    }

    private static async Task ReadAsync(StickySessionStore store, Session session, string ticket)
    {
        var loaded = store.Open(ticket);
        await loaded.LoadAsync();
        if (loaded.Exists && loaded.Ticket is { } next && next != ticket)
        {
            lock (session.Tickets)
            {
                session.Tickets.Add(next);
            }
        }
    }

    private static Dictionary<string, ReadOnlyMemory<byte>> Cart(int n) => new(StringComparer.Ordinal) { ["cart"] = Encoding.UTF8.GetBytes(n.ToString(System.Globalization.CultureInfo.InvariantCulture)) };

    private sealed class Session(string id, string? user, string ticket)
    {
        public string Id { get; } = id;

        public string? User { get; } = user;

        public List<string> Tickets { get; } = [ticket];

        public bool Revoked { get; set; }
    }

    /// <summary>One node: its store, its own bus over the shared connection, and a listener subscribed after the store.</summary>
    private sealed class Node : IAsyncDisposable
    {
        private readonly ConcurrentDictionary<string, TaskCompletionSource> _heard = new(StringComparer.Ordinal);
        private RedisSessionInvalidationBus _bus = null!;
        private IDisposable _listener = null!;

        public StickySessionStore Store { get; private set; } = null!;

        public static async Task<Node> StartAsync(RedisFixture redis, ISessionStore backup, string prefix, string nodeId)
        {
            var options = new StickySessionStoreOptions { NodeId = nodeId, Name = "sticky-" + nodeId + "-" + Guid.NewGuid().ToString("N") };
            options.Keys.Add(Key);
            var node = new Node { _bus = new RedisSessionInvalidationBus(redis.Redis, prefix) };
            node.Store = new StickySessionStore(options, backup, bus: node._bus);
            node._listener = node._bus.Subscribe(node.OnMessage);
            await node._bus.Listening.WaitAsync(TimeSpan.FromSeconds(10));
            return node;
        }

        public Task HeardAsync(string key) => Slot(key).Task.WaitAsync(TimeSpan.FromSeconds(10));

        public async ValueTask DisposeAsync()
        {
            _listener.Dispose();
            await Store.DisposeAsync();
            _bus.Dispose();
        }

        // Handlers run in subscription order: when this one hears a message, the store has handled it.
        private void OnMessage(SessionInvalidation message)
        {
            if (message.UserId is { } user)
            {
                Slot("user:" + user).TrySetResult();
            }
            else if (message.SessionId is { } id && message.Version == long.MaxValue)
            {
                Slot("id:" + id).TrySetResult();
            }
        }

        private TaskCompletionSource Slot(string key) => _heard.GetOrAdd(key, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
    }
}
