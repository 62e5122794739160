using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using StateKit.DependencyInjection;
using StateKit.Testing;

namespace StateKit.Redis.Tests;

/// <summary>
/// One application node for the events tests: a Redis store registered through <c>AddStateKit</c> on its own multiplexer,
/// with a recorder subscribed to its session events, and the store's expiry listener reachable to wait on.
/// </summary>
internal sealed class RedisEventNode : IAsyncDisposable
{
    /// <summary>Creates <paramref name="count"/> sessions and returns their ids.</summary>
    public static async Task<string[]> CreateAsync(ISessionStore store, int count)
    {
        var ids = new string[count];
        for (var i = 0; i < count; i++)
        {
            var session = store.Open(null);
            session.SetBytes("cart", "1"u8);
            ids[i] = (await session.CommitAsync()).SessionId!;
        }

        return ids;
    }

    /// <summary>Redis expires each key as its TTL would; waits until every node's listener handled each notification.</summary>
    public static async Task ExpireAllAsync(string prefix, string[] ids, IConnectionMultiplexer direct, params RedisEventNode[] nodes)
    {
        var handled = nodes.Select(n => n.Expect(ids)).ToArray();
        var db = direct.GetDatabase();
        // Not 1 ms: Redis 7.0 adds a relative TTL to the command's start time but checks it against the clock read after, so a
        // 1 ms TTL sometimes counts as already past and the key is deleted on the spot, as DEL ("del" event, no "expired"):
        // about 1 key in 2,000 with redis-cli, the cause of the events tests' rare 30 s timeouts.
        foreach (var id in ids)
        {
            Assert.True(await db.KeyExpireAsync($"{prefix}s:{{{id}}}", TimeSpan.FromMilliseconds(20)));
        }

        // Reading a key past its TTL expires it there and then (and notifies), rather than whenever Redis's background
        // cycle samples it: the wait polls the key's real state, 1 ms at a time (the TTLs run out together, in about 20 ms).
        foreach (var id in ids)
        {
            while (await db.KeyExistsAsync($"{prefix}s:{{{id}}}"))
            {
                await Task.Delay(1);
            }
        }

        try
        {
            await Task.WhenAll(handled).WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            var left = await Task.WhenAll(ids.Select(async id => (id, await db.KeyExistsAsync($"{prefix}s:{{{id}}}"))));
            throw new TimeoutException($"Not every node handled every expiry: {string.Join("; ", nodes.Select(n => n.Pending))}; keys still present: {left.Count(l => l.Item2)}.");
        }
    }

    private readonly ServiceProvider _provider;
    private readonly ConnectionMultiplexer _redis;
    private bool _stopped;

    private RedisEventNode(ServiceProvider provider, ConnectionMultiplexer redis, SessionEventRecorder recorder)
    {
        _provider = provider;
        _redis = redis;
        Recorder = recorder;
        Store = provider.GetRequiredService<ISessionStore>();
        Raw = provider.GetRequiredService<RawStore>().Store!;
    }

    public SessionEventRecorder Recorder { get; }

    public ISessionStore Store { get; }

    public RedisSessionStore Raw { get; }

    public static async Task<RedisEventNode> StartAsync(string configuration, string prefix, string name, TimeProvider time, Action<RedisSessionStoreOptions>? configure = null, bool allowAdmin = true)
    {
        // allowAdmin, so that the store can read (and, when told to, set) notify-keyspace-events. A patient asyncTimeout:
        // a claim that timed out on a starved CI machine would be reported by both nodes (at least once, by design),
        // which is not what these tests are about.
        var redis = await ConnectionMultiplexer.ConnectAsync(
            $"{configuration},abortConnect=false,asyncTimeout=30000,allowAdmin={(allowAdmin ? "true" : "false")}");
        var recorder = new SessionEventRecorder();
        var raw = new RawStore();
        var services = new ServiceCollection();
        services.AddSingleton(time);
        services.AddSingleton(raw);
        services.AddStateKit(kit => kit
            .UseStore<RedisSessionStoreOptions>(
                "redis",
                o =>
                {
                    o.KeyPrefix = prefix;
                    o.Name = name;
                    configure?.Invoke(o);
                },
                (sp, o) => raw.Store = new RedisSessionStore(redis, o, sp.GetService<TimeProvider>()))
            .OnSessionEvent(recorder.HandleAsync));
        var provider = services.BuildServiceProvider();
        await SessionEventRecorder.StartHostedAsync(provider);
        return new RedisEventNode(provider, redis, recorder);
    }

    public string Pending { get; private set; } = string.Empty;

    /// <summary>A task that completes once this node's listener handled a notification for every one of <paramref name="ids"/>.</summary>
    public Task Expect(string[] ids)
    {
        var pending = new HashSet<string>(ids, StringComparer.Ordinal);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Raw.ExpiryListener!.Handled = id =>
        {
            lock (pending)
            {
                if (pending.Remove(id) && pending.Count == 0)
                {
                    done.TrySetResult();
                }

                Pending = $"{Raw.GetHashCode()}: {pending.Count} left";
            }
        };
        return done.Task;
    }

    /// <summary>Stops the node's event queue after it delivered everything raised so far.</summary>
    public async Task StopAsync()
    {
        if (!_stopped)
        {
            _stopped = true;
            await SessionEventRecorder.StopHostedAsync(_provider);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        Raw.Dispose();
        await _provider.DisposeAsync();
        await _redis.DisposeAsync();
    }

    private sealed class RawStore
    {
        public RedisSessionStore? Store { get; set; }
    }
}
