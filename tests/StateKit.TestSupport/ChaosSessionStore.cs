using System;
using System.Threading;
using System.Threading.Tasks;

namespace StateKit.Testing;

/// <summary>What a <see cref="ChaosSessionStore"/> does to the calls it passes on.</summary>
public enum ChaosMode
{
    /// <summary>Pass every call to the real store.</summary>
    Healthy = 0,

    /// <summary>Throw <see cref="SessionStoreUnavailableException"/> without calling the store: a dead connection.</summary>
    Fail = 1,

    /// <summary>Never answer until the call's token is cancelled or <see cref="ChaosSessionStore.Heal"/> is called: a hung server.</summary>
    Stall = 2,

    /// <summary>Wait <see cref="ChaosSessionStore.Latency"/> on the injected clock, then call the store: a slow server.</summary>
    Slow = 3,
}

/// <summary>
/// Wraps a real store and makes it fail, stall or slow down on command, so resilience tests need not kill servers.
/// The store itself is never faked: a healthy call reaches it unchanged.
/// </summary>
/// <remarks>Lists a user's sessions when the real store does, with the same faults.</remarks>
public sealed class ChaosSessionStore(ISessionStore inner, TimeProvider? timeProvider = null) : ISessionStore, ISessionLister
{
    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;
    private TaskCompletionSource _healed = NewHealed();
    private int _mode;
    private int _calls;
    private int _reached;
    private int _inFlight;
    private int _maxInFlight;

    /// <summary>Gets the wrapped store.</summary>
    public ISessionStore Inner => inner;

    /// <summary>Gets the current mode.</summary>
    public ChaosMode Mode => (ChaosMode)Volatile.Read(ref _mode);

    /// <summary>Gets or sets the delay of <see cref="ChaosMode.Slow"/>.</summary>
    public TimeSpan Latency { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Gets how many calls arrived, whatever happened to them.</summary>
    public int Calls => Volatile.Read(ref _calls);

    /// <summary>Gets how many calls reached the real store.</summary>
    public int Reached => Volatile.Read(ref _reached);

    /// <summary>Gets how many calls are waiting inside the chaos store now.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Gets the most calls that were ever in flight at once.</summary>
    public int MaxInFlight => Volatile.Read(ref _maxInFlight);

    /// <inheritdoc />
    public SessionStoreCapabilities Capabilities => inner.Capabilities;

    /// <summary>Makes every call fail with <see cref="SessionStoreUnavailableException"/>.</summary>
    public void Fail() => Volatile.Write(ref _mode, (int)ChaosMode.Fail);

    /// <summary>Makes every call hang until its token is cancelled or the store heals.</summary>
    public void Stall() => Volatile.Write(ref _mode, (int)ChaosMode.Stall);

    /// <summary>Makes every call wait <paramref name="latency"/> on the injected clock first.</summary>
    /// <param name="latency">The delay.</param>
    public void Slow(TimeSpan latency)
    {
        Latency = latency;
        Volatile.Write(ref _mode, (int)ChaosMode.Slow);
    }

    /// <summary>Passes every call to the real store again, releasing stalled calls.</summary>
    public void Heal()
    {
        Volatile.Write(ref _mode, (int)ChaosMode.Healthy);
        Interlocked.Exchange(ref _healed, NewHealed()).TrySetResult();
    }

    /// <inheritdoc />
    public async ValueTask<SessionSnapshot?> LoadAsync(string ticket, CancellationToken cancellationToken = default)
    {
        await InjectAsync(cancellationToken);
        try
        {
            Interlocked.Increment(ref _reached);
            return await inner.LoadAsync(ticket, cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    /// <inheritdoc />
    public async ValueTask<SessionCommitResult> CommitAsync(SessionCommit commit, CancellationToken cancellationToken = default)
    {
        await InjectAsync(cancellationToken);
        try
        {
            Interlocked.Increment(ref _reached);
            return await inner.CommitAsync(commit, cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    /// <inheritdoc />
    public async ValueTask<bool> RevokeAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        await InjectAsync(cancellationToken);
        try
        {
            Interlocked.Increment(ref _reached);
            return await inner.RevokeAsync(sessionId, cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    /// <inheritdoc />
    public async ValueTask<int> RevokeUserAsync(string userId, CancellationToken cancellationToken = default)
    {
        await InjectAsync(cancellationToken);
        try
        {
            Interlocked.Increment(ref _reached);
            return await inner.RevokeUserAsync(userId, cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    /// <inheritdoc />
    public async ValueTask<UserSessionPage> ListUserSessionsAsync(string userId, string? continuationToken = null, int pageSize = UserSessionPage.DefaultPageSize, CancellationToken cancellationToken = default)
    {
        await InjectAsync(cancellationToken);
        try
        {
            Interlocked.Increment(ref _reached);
            return await ((ISessionLister)inner).ListUserSessionsAsync(userId, continuationToken, pageSize, cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    /// <inheritdoc />
    public async ValueTask<bool> RevokeUserSessionAsync(string userId, string publicId, CancellationToken cancellationToken = default)
    {
        await InjectAsync(cancellationToken);
        try
        {
            Interlocked.Increment(ref _reached);
            return await ((ISessionLister)inner).RevokeUserSessionAsync(userId, publicId, cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private async Task InjectAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        var inFlight = Interlocked.Increment(ref _inFlight);
        int max;
        while (inFlight > (max = Volatile.Read(ref _maxInFlight)) && Interlocked.CompareExchange(ref _maxInFlight, inFlight, max) != max)
        {
        }

        try
        {
            switch (Mode)
            {
                case ChaosMode.Fail:
                    throw new SessionStoreUnavailableException("Chaos: the store is down.", null);
                case ChaosMode.Stall:
                    await Volatile.Read(ref _healed).Task.WaitAsync(cancellationToken);
                    break;
                case ChaosMode.Slow:
                    await Task.Delay(Latency, _time, cancellationToken);
                    break;
            }
        }
        catch
        {
            Interlocked.Decrement(ref _inFlight);
            throw;
        }
    }

    private static TaskCompletionSource NewHealed() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
