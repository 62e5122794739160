using System;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using StateKit.Distributed;
using StateKit.Sticky;
using StateKit.Testing;
using StateKit.Tests.Distributed;

namespace StateKit.Tests.Sticky;

/// <summary>Keys, real backup stores and a few helpers shared by the sticky tests.</summary>
internal static class StickyTestKit
{
    public static readonly StickyKey Key1 = new() { Id = "k1", Secret = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray() };
    public static readonly StickyKey Key2 = new() { Id = "k2", Secret = Enumerable.Range(101, 32).Select(i => (byte)i).ToArray() };

    public static StickySessionStoreOptions Options(string node, Action<StickySessionStoreOptions>? configure = null)
    {
        var options = new StickySessionStoreOptions
        {
            NodeId = node,
            Name = "sticky-" + Guid.NewGuid().ToString("N"),
            IdleTimeout = SessionStoreContract.IdleTimeout,
            AbsoluteLifetime = SessionStoreContract.AbsoluteLifetime,
            MaxPayloadBytes = SessionStoreContract.MaxPayloadBytes,
        };
        options.Keys.Add(Key1);
        configure?.Invoke(options);
        return options;
    }

    /// <summary>A real server-side store over a real in-process cache, on the test's clock: what every node of a test shares.</summary>
    public static DistributedCacheSessionStore Backup(TimeProvider time) => new(
        new MemoryDistributedCache(Microsoft.Extensions.Options.Options.Create(new MemoryDistributedCacheOptions { Clock = new FakeTimeSystemClock(time) })),
        new DistributedCacheSessionStoreOptions
        {
            IdleTimeout = SessionStoreContract.IdleTimeout,
            AbsoluteLifetime = SessionStoreContract.AbsoluteLifetime,
            MaxPayloadBytes = SessionStoreContract.MaxPayloadBytes,
        },
        time);

    /// <summary>Waits (on the real clock, in milliseconds) until the store's write-behind queue has reached the backup.</summary>
    public static async Task WaitForBackupAsync(StickySessionStore store)
    {
        var watch = Stopwatch.StartNew();
        while (store.BackupInFlight > 0)
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), "the write-behind queue did not drain");
            await Task.Delay(2);
        }
    }

    public static async Task<string> CreateAsync(ISessionStore store, int cart)
    {
        var session = store.Open(null);
        session.Set("cart", cart, ContractJsonContext.Default.Int32);
        return (await session.CommitAsync()).Ticket!;
    }

    public static async Task<string> SetAsync(ISessionStore store, string ticket, int cart)
    {
        var session = store.Open(ticket);
        session.Set("cart", cart, ContractJsonContext.Default.Int32);
        await session.CommitAsync();
        return session.Ticket!;
    }

    public static async Task<(int? Cart, string? Ticket)> ReadAsync(ISessionStore store, string ticket)
    {
        var session = store.Open(ticket);
        await session.LoadAsync();
        return (session.Exists ? session.Get("cart", ContractJsonContext.Default.Int32) : null, session.Ticket);
    }
}

/// <summary>
/// A real store behind a gate that the test opens and closes: while closed, write-behind writes (commits to an existing
/// session) wait, so a test can hold the worker still and look at the queue. Creations and deletions pass.
/// </summary>
internal sealed class GatedSessionStore(ISessionStore inner) : ISessionStore, System.IDisposable
{
    private volatile TaskCompletionSource _open = Opened();
    private readonly SemaphoreSlim _entered = new(0);

    public int Replications;

    public void Dispose() => _entered.Dispose();

    public SessionStoreCapabilities Capabilities => inner.Capabilities;

    public void Close() => _open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Open() => _open.TrySetResult();

    /// <summary>Waits until a write-behind write is held at the gate.</summary>
    public Task WaitForHeldWriteAsync() => _entered.WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(t => Assert.True(t.Result, "no write reached the gate"), TaskScheduler.Default);

    public ValueTask<SessionSnapshot?> LoadAsync(string ticket, CancellationToken cancellationToken = default) => inner.LoadAsync(ticket, cancellationToken);

    public async ValueTask<SessionCommitResult> CommitAsync(SessionCommit commit, CancellationToken cancellationToken = default)
    {
        if (commit.Ticket is not null && !commit.Revoke)
        {
            _entered.Release();
            await _open.Task.WaitAsync(cancellationToken);
            Interlocked.Increment(ref Replications);
        }

        return await inner.CommitAsync(commit, cancellationToken);
    }

    public ValueTask<bool> RevokeAsync(string sessionId, CancellationToken cancellationToken = default) => inner.RevokeAsync(sessionId, cancellationToken);

    public ValueTask<int> RevokeUserAsync(string userId, CancellationToken cancellationToken = default) => inner.RevokeUserAsync(userId, cancellationToken);

    private static TaskCompletionSource Opened()
    {
        var open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        open.SetResult();
        return open;
    }
}

/// <summary>
/// A real store in front of which every write-behind write (a commit to an existing session) waits for a permit the
/// test hands out, like a backup across a network round trip: the test sees how many writes are in flight at once.
/// </summary>
internal sealed class PermitSessionStore(ISessionStore inner) : ISessionStore, System.IDisposable
{
    private readonly SemaphoreSlim _permits = new(0);
    private readonly System.Collections.Generic.HashSet<string> _writing = [];
    private int _held;

    public SessionStoreCapabilities Capabilities => inner.Capabilities;

    /// <summary>Gets how many write-behind writes wait for a permit right now.</summary>
    public int Held => Volatile.Read(ref _held);

    /// <summary>Gets a value indicating whether two writes of one session were ever in flight at once.</summary>
    public bool Overlapped { get; private set; }

    public void Dispose() => _permits.Dispose();

    public void Release(int count) => _permits.Release(count);

    /// <summary>Waits (on the real clock) until exactly <paramref name="count"/> writes wait for a permit.</summary>
    public async Task WaitForHeldAsync(int count)
    {
        var watch = Stopwatch.StartNew();
        while (Held != count && watch.Elapsed < TimeSpan.FromSeconds(5))
        {
            await Task.Delay(2);
        }

        Assert.Equal(count, Held);
    }

    public ValueTask<SessionSnapshot?> LoadAsync(string ticket, CancellationToken cancellationToken = default) => inner.LoadAsync(ticket, cancellationToken);

    public async ValueTask<SessionCommitResult> CommitAsync(SessionCommit commit, CancellationToken cancellationToken = default)
    {
        if (commit.Ticket is null || commit.Revoke)
        {
            return await inner.CommitAsync(commit, cancellationToken);
        }

        lock (_writing)
        {
            Overlapped |= !_writing.Add(commit.Ticket);
        }

        Interlocked.Increment(ref _held);
        try
        {
            await _permits.WaitAsync(cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref _held);
        }

        try
        {
            return await inner.CommitAsync(commit, cancellationToken);
        }
        finally
        {
            lock (_writing)
            {
                _writing.Remove(commit.Ticket);
            }
        }
    }

    public ValueTask<bool> RevokeAsync(string sessionId, CancellationToken cancellationToken = default) => inner.RevokeAsync(sessionId, cancellationToken);

    public ValueTask<int> RevokeUserAsync(string userId, CancellationToken cancellationToken = default) => inner.RevokeUserAsync(userId, cancellationToken);
}

/// <summary>
/// A real store whose loads, while the gate is closed, read the stored copy and then wait: a take-over held between
/// reading the backup copy and putting it in the node's memory.
/// </summary>
internal sealed class LoadGatedSessionStore(ISessionStore inner) : ISessionStore, System.IDisposable
{
    private readonly SemaphoreSlim _held = new(0);
    private volatile TaskCompletionSource? _gate;
    private volatile TaskCompletionSource? _holding;

    public SessionStoreCapabilities Capabilities => inner.Capabilities;

    public void Dispose() => _held.Dispose();

    public void Close() => _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Open() => _holding?.TrySetResult();

    public Task WaitForHeldLoadAsync() => _held.WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(t => Assert.True(t.Result, "no load reached the gate"), TaskScheduler.Default);

    public async ValueTask<SessionSnapshot?> LoadAsync(string ticket, CancellationToken cancellationToken = default)
    {
        var copy = await inner.LoadAsync(ticket, cancellationToken);
        if (_gate is { } gate)
        {
            // Only the first load waits: the take-over's second read finds the revocation.
            _gate = null;
            _holding = gate;
            _held.Release();
            await gate.Task.WaitAsync(cancellationToken);
        }

        return copy;
    }

    public ValueTask<SessionCommitResult> CommitAsync(SessionCommit commit, CancellationToken cancellationToken = default) => inner.CommitAsync(commit, cancellationToken);

    public ValueTask<bool> RevokeAsync(string sessionId, CancellationToken cancellationToken = default) => inner.RevokeAsync(sessionId, cancellationToken);

    public ValueTask<int> RevokeUserAsync(string userId, CancellationToken cancellationToken = default) => inner.RevokeUserAsync(userId, cancellationToken);
}

/// <summary>A real store that says it keeps state on a server, for capability checks only (nothing is loaded or written).</summary>
internal sealed class ServerSide(ISessionStore inner) : ISessionStore
{
    public SessionStoreCapabilities Capabilities => inner.Capabilities with { Location = StateLocation.Server };

    public ValueTask<SessionSnapshot?> LoadAsync(string ticket, CancellationToken cancellationToken = default) => inner.LoadAsync(ticket, cancellationToken);

    public ValueTask<SessionCommitResult> CommitAsync(SessionCommit commit, CancellationToken cancellationToken = default) => inner.CommitAsync(commit, cancellationToken);

    public ValueTask<bool> RevokeAsync(string sessionId, CancellationToken cancellationToken = default) => inner.RevokeAsync(sessionId, cancellationToken);

    public ValueTask<int> RevokeUserAsync(string userId, CancellationToken cancellationToken = default) => inner.RevokeUserAsync(userId, cancellationToken);
}

/// <summary>
/// A real in-memory store (with its user index, listing and MaxSessionsPerUser) that says it keeps state on a server: what
/// every node of a test shares as the backup that lists. Every call goes to the store as it is.
/// </summary>
internal sealed class ListingBackup(StateKit.Memory.InMemorySessionStore inner) : ISessionStore, ISessionLister
{
    private TaskCompletionSource? _afterCommit;
    private readonly TaskCompletionSource _heldAfterCommit = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public StateKit.Memory.InMemorySessionStore Inner => inner;

    /// <summary>Holds the next commit once the store has applied it, before it returns, until the test completes the source.</summary>
    public TaskCompletionSource HoldAfterNextCommit() => _afterCommit = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when a commit is held by <see cref="HoldAfterNextCommit"/>.</summary>
    public Task HeldAfterCommit => _heldAfterCommit.Task;

    public SessionStoreCapabilities Capabilities => inner.Capabilities with { Location = StateLocation.Server, SurvivesNodeLoss = true };

    public ValueTask<SessionSnapshot?> LoadAsync(string ticket, CancellationToken cancellationToken = default) => inner.LoadAsync(ticket, cancellationToken);

    public async ValueTask<SessionCommitResult> CommitAsync(SessionCommit commit, CancellationToken cancellationToken = default)
    {
        var result = await inner.CommitAsync(commit, cancellationToken);
        if (Interlocked.Exchange(ref _afterCommit, null) is { } hold)
        {
            _heldAfterCommit.TrySetResult();
            await hold.Task;
        }

        return result;
    }

    public ValueTask<bool> RevokeAsync(string sessionId, CancellationToken cancellationToken = default) => inner.RevokeAsync(sessionId, cancellationToken);

    public ValueTask<int> RevokeUserAsync(string userId, CancellationToken cancellationToken = default) => inner.RevokeUserAsync(userId, cancellationToken);

    public ValueTask<UserSessionPage> ListUserSessionsAsync(string userId, string? continuationToken = null, int pageSize = UserSessionPage.DefaultPageSize, CancellationToken cancellationToken = default)
        => inner.ListUserSessionsAsync(userId, continuationToken, pageSize, cancellationToken);

    public ValueTask<bool> RevokeUserSessionAsync(string userId, string publicId, CancellationToken cancellationToken = default)
        => inner.RevokeUserSessionAsync(userId, publicId, cancellationToken);

    public static ListingBackup Create(TimeProvider time, int maxSessionsPerUser = 0, UserSessionLimitPolicy policy = UserSessionLimitPolicy.SignOutLeastRecentlyActive) => new(
        new StateKit.Memory.InMemorySessionStore(
            new StateKit.Memory.InMemorySessionStoreOptions
            {
                IdleTimeout = SessionStoreContract.IdleTimeout,
                AbsoluteLifetime = SessionStoreContract.AbsoluteLifetime,
                MaxSessionsPerUser = maxSessionsPerUser,
                SessionLimitPolicy = policy,
            },
            time));
}
