using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Session;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace StateKit.Benchmarks.Infrastructure;

/// <summary>
/// One strategy doing one request's work on a session seeded with a <see cref="SessionShape"/>. Every driver does the same
/// work: load, read <c>cart</c>, write <c>cart</c> (alternating two values so every commit is a real change), commit.
/// </summary>
public abstract class RequestDriver
{
    private bool _flip;

    /// <summary>Creates the session (with every key of the shape) the requests then work on.</summary>
    public abstract Task SeedAsync(SessionShape shape);

    /// <summary>Load, read one key, change it, commit: the request every strategy is compared on.</summary>
    public abstract ValueTask<int> ReadModifyWriteAsync();

    /// <summary>Load and read one key; nothing changes.</summary>
    public abstract ValueTask<int> ReadOnlyAsync();

    /// <summary>Set one key without reading anything first.</summary>
    public abstract ValueTask<int> WriteOnlyAsync();

    /// <summary>A request that has a session but never touches it (the session middleware still runs).</summary>
    public abstract ValueTask<int> UntouchedAsync();

    protected SessionShape Shape { get; set; } = null!;

    /// <summary>Gets the next cart value: A, B, A, ... so that every write changes the stored value.</summary>
    protected byte[] NextCart()
    {
        _flip = !_flip;
        return _flip ? Shape.CartB : Shape.CartA;
    }

    protected byte[] NextBlob()
    {
        _flip = !_flip;
        return _flip ? Shape.BlobB : Shape.BlobA;
    }
}

/// <summary>A StateKit store through <see cref="StateSession"/>, the way the middleware drives it.</summary>
public sealed class StateKitDriver(ISessionStore store) : RequestDriver
{
    private string? _ticket;

    public ISessionStore Store => store;

    public string Ticket => _ticket!;

    public override async Task SeedAsync(SessionShape shape)
    {
        Shape = shape;
        var session = new StateSession(store, null);
        foreach (var (key, value) in shape.All())
        {
            session.SetBytes(key, value);
        }

        var result = await session.CommitAsync();
        _ticket = result.Ticket ?? throw new InvalidOperationException($"Seeding {store.GetType().Name} returned no ticket ({result.Outcome}).");
    }

    public override async ValueTask<int> ReadModifyWriteAsync()
    {
        var session = new StateSession(store, _ticket);
        await session.LoadAsync();
        session.TryGetBytes(SessionShape.CartKey, out var cart);
        session.SetBytes(SessionShape.CartKey, NextCart());
        var result = await session.CommitAsync();
        _ticket = result.Ticket ?? _ticket;
        return cart.Length;
    }

    public override async ValueTask<int> ReadOnlyAsync()
    {
        var session = new StateSession(store, _ticket);
        await session.LoadAsync();
        session.TryGetBytes(SessionShape.CartKey, out var cart);
        var result = await session.CommitAsync();
        _ticket = result.Ticket ?? _ticket;
        return cart.Length;
    }

    public override async ValueTask<int> WriteOnlyAsync()
    {
        var session = new StateSession(store, _ticket);
        session.SetBytes(SessionShape.CartKey, NextCart());
        var result = await session.CommitAsync();
        _ticket = result.Ticket ?? _ticket;
        return (int)result.Outcome;
    }

    public override async ValueTask<int> UntouchedAsync()
    {
        var session = new StateSession(store, _ticket);
        var result = await session.CommitAsync();
        return (int)result.Outcome;
    }
}

/// <summary>
/// ASP.NET Core's own session (<see cref="DistributedSession"/> through <see cref="DistributedSessionStore"/>), driven without a
/// host exactly as the session middleware drives it: create, load, read/write, commit.
/// </summary>
public sealed class AspNetCoreSessionDriver(IDistributedCache cache) : RequestDriver
{
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(20);
    private static readonly TimeSpan IoTimeout = TimeSpan.FromSeconds(10);
    private readonly DistributedSessionStore _sessions = new(cache, NullLoggerFactory.Instance);
    private readonly string _key = Guid.NewGuid().ToString();

    public override async Task SeedAsync(SessionShape shape)
    {
        Shape = shape;
        var session = _sessions.Create(_key, IdleTimeout, IoTimeout, () => true, isNewSessionKey: true);
        foreach (var (key, value) in shape.All())
        {
            session.Set(key, value);
        }

        await session.CommitAsync();
    }

    public override async ValueTask<int> ReadModifyWriteAsync()
    {
        var session = _sessions.Create(_key, IdleTimeout, IoTimeout, () => true, isNewSessionKey: false);
        await session.LoadAsync();
        session.TryGetValue(SessionShape.CartKey, out var cart);
        session.Set(SessionShape.CartKey, NextCart());
        await session.CommitAsync();
        return cart!.Length;
    }

    public override async ValueTask<int> ReadOnlyAsync()
    {
        var session = _sessions.Create(_key, IdleTimeout, IoTimeout, () => true, isNewSessionKey: false);
        await session.LoadAsync();
        session.TryGetValue(SessionShape.CartKey, out var cart);
        await session.CommitAsync();
        return cart!.Length;
    }

    public override async ValueTask<int> WriteOnlyAsync()
    {
        // ISession.Set loads the session first (synchronously when LoadAsync was not awaited); the middleware's apps
        // await LoadAsync, so this does too.
        var session = _sessions.Create(_key, IdleTimeout, IoTimeout, () => true, isNewSessionKey: false);
        await session.LoadAsync();
        session.Set(SessionShape.CartKey, NextCart());
        await session.CommitAsync();
        return 1;
    }

    public override async ValueTask<int> UntouchedAsync()
    {
        // The middleware commits every session it created: an untouched one is a Refresh of the cache entry.
        var session = _sessions.Create(_key, IdleTimeout, IoTimeout, () => true, isNewSessionKey: false);
        await session.CommitAsync();
        return 0;
    }
}

/// <summary>
/// The raw StackExchange.Redis floors over the whole session as one string value: two round trips (GET, then SET with the
/// idle TTL) or one (GET and SET pipelined in one batch). No session semantics at all: the least any Redis-backed session can cost.
/// </summary>
public sealed class RawRedisDriver(IConnectionMultiplexer redis, bool pipelined) : RequestDriver
{
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(20);
    private readonly IDatabase _db = redis.GetDatabase();
    private readonly RedisKey _key = "raw:" + Guid.NewGuid().ToString("N");

    public override async Task SeedAsync(SessionShape shape)
    {
        Shape = shape;
        await _db.StringSetAsync(_key, shape.BlobA, IdleTimeout);
    }

    public override async ValueTask<int> ReadModifyWriteAsync()
    {
        if (pipelined)
        {
            var batch = _db.CreateBatch();
            var get = batch.StringGetAsync(_key);
            var set = batch.StringSetAsync(_key, NextBlob(), IdleTimeout);
            batch.Execute();
            await set;
            return (int)(await get).Length();
        }

        var value = await _db.StringGetAsync(_key);
        await _db.StringSetAsync(_key, NextBlob(), IdleTimeout);
        return (int)value.Length();
    }

    public override async ValueTask<int> ReadOnlyAsync()
    {
        // GETEX slides the TTL in the same round trip, as a session load must.
        var value = await _db.StringGetSetExpiryAsync(_key, IdleTimeout);
        return (int)value.Length();
    }

    public override async ValueTask<int> WriteOnlyAsync()
    {
        await _db.StringSetAsync(_key, NextBlob(), IdleTimeout);
        return 1;
    }

    public override ValueTask<int> UntouchedAsync() => ValueTask.FromResult(0);
}
