using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using StateKit.Events;

namespace StateKit.Redis;

/// <summary>
/// Turns Redis's "expired" keyspace notifications for session keys into <see cref="SessionEventKinds.Expired"/> events.
/// Every node that listens receives each notification; with <see cref="RedisSessionStoreOptions.ExpiryEventsOncePerCluster"/>
/// each node first claims the event with <c>SET NX PX</c> in the session's slot, and only the node that set it reports it.
/// </summary>
internal sealed class RedisExpiryListener : IDisposable
{
    private readonly RedisConnection _connection;
    private readonly RedisKeys _keys;
    private readonly RedisSessionStoreOptions _options;
    private readonly SessionEventSink _events;
    private readonly ILogger _logger;
    private readonly Action<RedisChannel, RedisValue> _onMessage;
    private readonly EventHandler<EndPointEventArgs> _onConfigurationChanged;
    private readonly EventHandler<HashSlotMovedEventArgs> _onHashSlotMoved;
    private readonly EventHandler<ConnectionFailedEventArgs> _onConnectionFailed;
    private readonly Lock _coveredLock = new();
    private HashSet<string> _covered = new(StringComparer.Ordinal);
    private int _watching;
    private IConnectionMultiplexer? _subscribed;
    private volatile bool _disposed;
    private RedisChannel _channel;

    public RedisExpiryListener(RedisConnection connection, RedisKeys keys, RedisSessionStoreOptions options, SessionEventSink events, ILogger logger)
    {
        _connection = connection;
        _keys = keys;
        _options = options;
        _events = events;
        _logger = logger;
        _onMessage = OnExpired;
        _onConfigurationChanged = (sender, _) => OnTopologyChanged(sender);
        _onHashSlotMoved = (sender, _) => OnTopologyChanged(sender);
        _onConnectionFailed = (sender, _) => OnTopologyChanged(sender);
        Listening = ListenAsync();
    }

    /// <summary>Gets or sets a hook called after each notification for a session key was handled (raised, or lost its claim); for tests.</summary>
    internal Action<string>? Handled { get; set; }

    /// <summary>Gets or sets a hook called when a primary is found to carry the subscription (see <see cref="Covers"/>); for tests.</summary>
    internal Action? CoverageChanged { get; set; }

    /// <summary>Gets whether the primary at <paramref name="endpoint"/> was subscribed at the start or has been seen with a subscriber since; for tests.</summary>
    internal bool Covers(string endpoint)
    {
        lock (_coveredLock)
        {
            return _covered.Contains(endpoint);
        }
    }

    /// <summary>Gets a task that ends with whether the store listens: false when the server has expired events off, or subscribing failed.</summary>
    public Task<bool> Listening { get; }

    public void Dispose()
    {
        _disposed = true;
        Unsubscribe();
    }

    private void Unsubscribe()
    {
        if (Interlocked.Exchange(ref _subscribed, null) is { } redis)
        {
            redis.ConfigurationChanged -= _onConfigurationChanged;
            redis.HashSlotMoved -= _onHashSlotMoved;
            redis.ConnectionFailed -= _onConnectionFailed;
            redis.GetSubscriber().Unsubscribe(_channel, _onMessage, CommandFlags.FireAndForget);
        }
    }

    /// <summary>Whether notify-keyspace-events flags send "expired" keyevent messages: E (keyevent) with x (expired) or A (all).</summary>
    internal static bool SendsExpiredEvents(string flags) => flags.Contains('E', StringComparison.Ordinal) && (flags.Contains('x', StringComparison.Ordinal) || flags.Contains('A', StringComparison.Ordinal));

    private async Task<bool> ListenAsync()
    {
        // Off the constructor's thread: the store is built inside DI, which must not wait for Redis.
        await Task.Yield();
        var storeName = _events.StoreName;
        try
        {
            var redis = await _connection.GetAsync().ConfigureAwait(false);
            var database = redis.GetDatabase().Database;
            var flags = await EnsureExpiredEventsAsync(redis, storeName).ConfigureAwait(false);
            if (flags is null)
            {
                return false;
            }

            // Redis keeps a node's keyspace notifications on that node. A keyevent channel from RedisChannel.KeyEvent is
            // subscribed on every primary of a cluster; a primary that appears later, after a reconfiguration
            // (OnTopologyChanged).
            _channel = RedisChannel.KeyEvent(KeyNotificationType.Expired, database);
            var channelName = _channel.ToString();
            var primaries = Primaries(redis);
            await redis.GetSubscriber().SubscribeAsync(_channel, _onMessage).ConfigureAwait(false);
            Covered(primaries);
            redis.ConfigurationChanged += _onConfigurationChanged;
            redis.HashSlotMoved += _onHashSlotMoved;
            redis.ConnectionFailed += _onConnectionFailed;
            _subscribed = redis;
            if (_disposed)
            {
                // Disposed while subscribing: undo it.
                Unsubscribe();
                return false;
            }

            Log.ExpiryNotificationsListening(_logger, storeName, channelName, flags);
            return true;
        }
        catch (Exception e) when (e is RedisException or RedisCommandException or TimeoutException or SessionStoreUnavailableException)
        {
            Log.ExpiryNotificationsFailed(_logger, storeName, e);
            return false;
        }
    }

    /// <summary>
    /// Reads <c>notify-keyspace-events</c> on every node the connection reaches (a standalone server, or each master and
    /// replica of a cluster) and, with <see cref="RedisExpiryNotifications.Enable"/>, adds expired events where they are
    /// off: on replicas too, so that a replica promoted by a failover keeps sending them.
    /// </summary>
    /// <returns>The flags to report, "?" when they could not be read; null when no primary sends expired events and the store should not listen.</returns>
    private async Task<string?> EnsureExpiredEventsAsync(IConnectionMultiplexer redis, string storeName)
    {
        string? sending = null;
        var primariesOff = new List<string>();
        var off = new List<(IServer Server, string Flags)>();
        foreach (var server in redis.GetServers())
        {
            if (!server.IsConnected)
            {
                continue;
            }

            string flags;
            try
            {
                var reply = (RedisResult[])(await server.ExecuteAsync("CONFIG", "GET", "notify-keyspace-events").ConfigureAwait(false))!;
                flags = reply.Length == 2 ? (string?)reply[1] ?? string.Empty : string.Empty;
            }
            catch (Exception e) when (e is RedisException or RedisCommandException or TimeoutException)
            {
                // CONFIG refused (a managed Redis, or no allowAdmin): listen anyway; a channel nobody publishes to costs nothing.
                Log.ExpiryNotificationsUnknown(_logger, storeName, e.Message);
                return "?";
            }

            if (SendsExpiredEvents(flags))
            {
                sending ??= server.IsReplica ? null : flags;
                continue;
            }

            off.Add((server, flags));
            if (!server.IsReplica)
            {
                primariesOff.Add(server.EndPoint.ToString()!);
            }
        }

        if (off.Count > 0 && _options.ExpiryNotifications == RedisExpiryNotifications.Enable)
        {
            foreach (var (server, flags) in off)
            {
                // Keeps what other clients asked for, and adds keyevent (E) and expired (x).
                var enabled = flags + (flags.Contains('E', StringComparison.Ordinal) ? string.Empty : "E") + (flags.Contains('x', StringComparison.Ordinal) ? string.Empty : "x");
                await server.ExecuteAsync("CONFIG", "SET", "notify-keyspace-events", enabled).ConfigureAwait(false);
                sending ??= server.IsReplica ? null : enabled;
            }

            return sending ?? "?";
        }

        if (primariesOff.Count == 0)
        {
            return sending ?? "?";
        }

        if (sending is null)
        {
            Log.ExpiryNotificationsOff(_logger, storeName, off[0].Flags);
            return null;
        }

        Log.ExpiryNotificationsPartlyOff(_logger, storeName, string.Join(", ", primariesOff));
        return sending;
    }

    /// <summary>
    /// A connection failed, a node changed role, or a slot moved: the primaries may be changing. A replica a failover
    /// promotes does not get the keyevent subscription by itself (a test kills a master and hears nothing from its
    /// successor for 30 s), and the multiplexer may learn of the promotion only after the event that announced trouble. So
    /// for <see cref="RedisDefaults.ExpiryWatchPeriod"/> the listener checks, every
    /// <see cref="RedisDefaults.ExpiryWatchInterval"/>, each connected primary it has not seen a subscriber on
    /// (<c>PUBSUB NUMSUB</c>), and while one has none it has the multiplexer reconfigure, which subscribes the channel
    /// there. Expiries on the new primary before that are missed: they are seen on load, as without notifications.
    /// </summary>
    private void OnTopologyChanged(object? sender)
    {
        if (_disposed || sender is not IConnectionMultiplexer redis || Interlocked.Exchange(ref _watching, 1) == 1)
        {
            return;
        }

        _ = WatchAsync(redis);
    }

    private async Task WatchAsync(IConnectionMultiplexer redis)
    {
        try
        {
            // Off the multiplexer's event thread.
            await Task.Yield();
            var checks = (int)(RedisDefaults.ExpiryWatchPeriod / RedisDefaults.ExpiryWatchInterval);
            var reconfigureEvery = (int)(RedisDefaults.ExpiryReconfigureInterval / RedisDefaults.ExpiryWatchInterval);
            var sinceReconfigure = reconfigureEvery;
            for (var i = 0; i < checks && !_disposed; i++, sinceReconfigure++)
            {
                if (await CoverAsync(redis).ConfigureAwait(false) && sinceReconfigure >= reconfigureEvery)
                {
                    // A full reconfiguration makes StackExchange.Redis subscribe every multi-node channel on the primaries it
                    // now knows. Unsubscribing and subscribing again does not do: the subscribe waits on the dead primary,
                    // which the multiplexer still counts, until its timeout.
                    sinceReconfigure = 0;
                    await redis.ConfigureAsync().ConfigureAwait(false);
                    Log.ExpiryNotificationsResubscribed(_logger, _events.StoreName);
                }

                // Real time, whatever the store's clock: it waits for Redis servers and the multiplexer.
                await Task.Delay(RedisDefaults.ExpiryWatchInterval, TimeProvider.System).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            Log.ExpiryNotificationsFailed(_logger, _events.StoreName, e);
        }
        finally
        {
            Volatile.Write(ref _watching, 0);
        }
    }

    /// <summary>
    /// Asks each connected primary not yet known to carry the subscription (<c>PUBSUB NUMSUB</c>) whether it does now, and
    /// adds those that do to the covered set. Another client's subscription to the same channel counts too: the check
    /// tells a primary nobody listens to from one somebody does, which is what a failover's successor needs.
    /// </summary>
    /// <returns>Whether a connected primary has no subscriber.</returns>
    private async Task<bool> CoverAsync(IConnectionMultiplexer redis)
    {
        var uncovered = false;
        var channel = _channel.ToString();
        foreach (var server in redis.GetServers())
        {
            var endpoint = server.EndPoint.ToString()!;
            if (server is not { IsReplica: false, IsConnected: true } || Covers(endpoint))
            {
                continue;
            }

            var reply = (RedisResult[])(await server.ExecuteAsync("PUBSUB", "NUMSUB", channel).ConfigureAwait(false))!;
            if (reply.Length == 2 && (long)reply[1] > 0)
            {
                lock (_coveredLock)
                {
                    _covered.Add(endpoint);
                }

                CoverageChanged?.Invoke();
            }
            else
            {
                uncovered = true;
            }
        }

        return uncovered;
    }

    private void Covered(HashSet<string> primaries)
    {
        lock (_coveredLock)
        {
            _covered = primaries;
        }
    }

    private static HashSet<string> Primaries(IConnectionMultiplexer redis)
    {
        var primaries = new HashSet<string>(StringComparer.Ordinal);
        foreach (var server in redis.GetServers())
        {
            if (server is { IsReplica: false, IsConnected: true })
            {
                primaries.Add(server.EndPoint.ToString()!);
            }
        }

        return primaries;
    }

    private void OnExpired(RedisChannel channel, RedisValue key)
    {
        if (_keys.SessionIdOf((string?)key ?? string.Empty) is not { } id)
        {
            return;
        }

        if (!_options.ExpiryEventsOncePerCluster)
        {
            Raise(id);
            Handled?.Invoke(id);
            return;
        }

        _ = ClaimThenRaiseAsync(id);
    }

    private async Task ClaimThenRaiseAsync(string id)
    {
        bool claimed;
        try
        {
            var redis = await _connection.GetAsync().ConfigureAwait(false);
            claimed = await redis.GetDatabase().StringSetAsync(_keys.ExpiryClaim(id), 1, RedisDefaults.ExpiryClaimLifetime, When.NotExists).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException or SessionStoreUnavailableException)
        {
            // At least once rather than never: the event is reported here, and maybe by another node too.
            Log.ExpiryClaimFailed(_logger, _events.StoreName, e);
            claimed = true;
        }

        if (claimed)
        {
            Raise(id);
        }

        Handled?.Invoke(id);
    }

    // The key is gone: whether idle or absolute ended it, and whose it was, went with it.
    private void Raise(string id) => _events.Raise(SessionEventKinds.Expired, SessionEventReason.BackendTtl, id);
}
