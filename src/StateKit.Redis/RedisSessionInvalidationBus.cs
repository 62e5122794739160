using System;
using System.Buffers;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;
using StateKit.Caching;

namespace StateKit.Redis;

/// <summary>
/// Carries near-cache invalidations between an application's nodes over Redis pub/sub: one channel per key prefix
/// (<c>&lt;prefix&gt;invalidations</c>), each message only <c>version:id</c> (<c>u:userId</c> for a user's revocation,
/// <c>*</c> for everything), never session data.
/// </summary>
/// <remarks>
/// Pub/sub is fire-and-forget: a node that is disconnected misses messages. So whenever the multiplexer reports a
/// connection failed or restored, and once the subscription is first established, every subscriber receives
/// <see cref="SessionInvalidation.All"/> and drops everything it may have missed. Delivery is asynchronous: another node
/// drops its copy a moment (typically well under a millisecond on one network) after the commit returned, and until then
/// may serve it; <see cref="NearCacheOptions.TimeToLive"/> bounds the damage of anything lost in between.
/// </remarks>
public sealed class RedisSessionInvalidationBus : ISessionInvalidationBus, IDisposable
{
    // Not a number, so a node that predates user messages ignores them (its near cache drops everything on its own revocation anyway).
    private const string UserPrefix = "u:";

    // p:<public id>:<user>. Also not a number, so an older node ignores it (and serves its copy for at most its TimeToLive).
    private const string PublicIdPrefix = "p:";
    private const int PublicIdLength = 32;

    private static readonly SearchValues<char> LowerHex = SearchValues.Create("0123456789abcdef");

    private readonly IConnectionMultiplexer _redis;
    private readonly RedisChannel _channel;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly TaskCompletionSource _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Action<SessionInvalidation>[] _handlers = [];
    private bool _subscribed;

    /// <summary>Initializes a new instance of the <see cref="RedisSessionInvalidationBus"/> class.</summary>
    /// <param name="redis">The node's multiplexer; the bus never disposes it.</param>
    /// <param name="keyPrefix">The store's <see cref="RedisSessionStoreOptions.KeyPrefix"/>: nodes sharing it share the channel.</param>
    /// <param name="logger">A logger, or <see langword="null"/> for none.</param>
    public RedisSessionInvalidationBus(IConnectionMultiplexer redis, string keyPrefix = RedisDefaults.KeyPrefix, ILogger<RedisSessionInvalidationBus>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(redis);
        ArgumentNullException.ThrowIfNull(keyPrefix);
        _redis = redis;
        _channel = RedisChannel.Literal(keyPrefix + "invalidations");
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _redis.ConnectionFailed += OnConnectionChanged;
        _redis.ConnectionRestored += OnConnectionChanged;
    }

    /// <inheritdoc />
    public async ValueTask PublishAsync(SessionInvalidation message, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        RedisValue payload = message.PublicId is { } publicId
            ? string.Concat(PublicIdPrefix, publicId, ":", message.OwnerId)
            : message.UserId is { } userId
            ? UserPrefix + userId
            : message.IsAll ? "*" : string.Create(CultureInfo.InvariantCulture, $"{message.Version}:{message.SessionId}");
        try
        {
            await _redis.GetSubscriber().PublishAsync(_channel, payload).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            throw new SessionStoreUnavailableException($"Redis could not publish a near-cache invalidation on '{_channel}'. {e.Message}", e);
        }
    }

    /// <inheritdoc />
    public IDisposable Subscribe(Action<SessionInvalidation> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        bool first;
        lock (_gate)
        {
            _handlers = [.. _handlers, handler];
            first = !_subscribed;
            _subscribed = true;
        }

        if (first)
        {
            _ = SubscribeToRedisAsync();
        }

        return new Subscription(this, handler);
    }

    /// <summary>Stops listening and detaches from the multiplexer's events.</summary>
    public void Dispose()
    {
        _redis.ConnectionFailed -= OnConnectionChanged;
        _redis.ConnectionRestored -= OnConnectionChanged;
        lock (_gate)
        {
            _handlers = [];
        }

        _redis.GetSubscriber().Unsubscribe(_channel, OnMessage, CommandFlags.FireAndForget);
    }

    internal static bool TryParse(string? payload, out SessionInvalidation message)
    {
        message = SessionInvalidation.All;
        if (payload == "*")
        {
            return true;
        }

        if (payload is not null && payload.StartsWith(PublicIdPrefix, StringComparison.Ordinal))
        {
            var separator = PublicIdPrefix.Length + PublicIdLength;
            if (payload.Length <= separator + 1 || payload[separator] != ':' || payload.AsSpan(PublicIdPrefix.Length, PublicIdLength).ContainsAnyExcept(LowerHex))
            {
                return false;
            }

            message = SessionInvalidation.ForPublicId(payload[(separator + 1)..], payload.Substring(PublicIdPrefix.Length, PublicIdLength));
            return true;
        }

        if (payload is not null && payload.StartsWith(UserPrefix, StringComparison.Ordinal))
        {
            if (payload.Length == UserPrefix.Length)
            {
                return false;
            }

            message = SessionInvalidation.ForUser(payload[UserPrefix.Length..]);
            return true;
        }

        var colon = payload?.IndexOf(':', StringComparison.Ordinal) ?? -1;
        if (colon <= 0 || colon == payload!.Length - 1 || !long.TryParse(payload.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out var version))
        {
            return false;
        }

        message = new SessionInvalidation(payload[(colon + 1)..], version);
        return true;
    }

    private async Task SubscribeToRedisAsync()
    {
        try
        {
            await _redis.GetSubscriber().SubscribeAsync(_channel, OnMessage).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // StackExchange.Redis keeps the subscription and sends it when it connects; the restore flushes then.
            Log.InvalidationSubscribeFailed(_logger, _channel.ToString(), e);
        }

        // Whatever was committed before the subscription was live went unheard.
        Deliver(SessionInvalidation.All);
        _listening.TrySetResult();
    }

    /// <summary>
    /// Gets a task that completes once the first subscriber's subscription was sent and the flush that follows it was
    /// delivered: from then on, what a handler holds is only dropped by a message or a lost connection.
    /// </summary>
    internal Task Listening => _listening.Task;

    private void OnMessage(RedisChannel channel, RedisValue value)
    {
        if (TryParse(value, out var message))
        {
            Deliver(message);
        }
    }

    private void OnConnectionChanged(object? sender, ConnectionFailedEventArgs e)
    {
        // Messages sent while a connection was down are lost: drop everything, now and again once it is back.
        Log.InvalidationBusFlushed(_logger, e.ConnectionType, e.FailureType);
        Deliver(SessionInvalidation.All);
    }

    private void Deliver(SessionInvalidation message)
    {
        foreach (var handler in Volatile.Read(ref _handlers))
        {
            handler(message);
        }
    }

    private void Unsubscribe(Action<SessionInvalidation> handler)
    {
        lock (_gate)
        {
            _handlers = Array.FindAll(_handlers, h => h != handler);
        }
    }

    private sealed class Subscription(RedisSessionInvalidationBus bus, Action<SessionInvalidation> handler) : IDisposable
    {
        public void Dispose() => bus.Unsubscribe(handler);
    }
}
