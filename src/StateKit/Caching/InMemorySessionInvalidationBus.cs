using System;
using System.Threading;
using System.Threading.Tasks;

namespace StateKit.Caching;

/// <summary>
/// An invalidation bus inside one process: every near cache subscribed to the same instance hears every commit.
/// For tests, and for several near caches over one store in one process.
/// </summary>
public sealed class InMemorySessionInvalidationBus : ISessionInvalidationBus
{
    private readonly Lock _gate = new();
    private Action<SessionInvalidation>[] _handlers = [];

    /// <inheritdoc />
    public ValueTask PublishAsync(SessionInvalidation message, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        foreach (var handler in Volatile.Read(ref _handlers))
        {
            handler(message);
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public IDisposable Subscribe(Action<SessionInvalidation> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        lock (_gate)
        {
            _handlers = [.. _handlers, handler];
        }

        return new Subscription(this, handler);
    }

    /// <summary>Acts out a reconnection for tests: every subscriber receives <see cref="SessionInvalidation.All"/>, as a real bus must after it lost messages.</summary>
    internal void Reconnected()
    {
        foreach (var handler in Volatile.Read(ref _handlers))
        {
            handler(SessionInvalidation.All);
        }
    }

    private void Unsubscribe(Action<SessionInvalidation> handler)
    {
        lock (_gate)
        {
            _handlers = Array.FindAll(_handlers, h => h != handler);
        }
    }

    private sealed class Subscription(InMemorySessionInvalidationBus bus, Action<SessionInvalidation> handler) : IDisposable
    {
        public void Dispose() => bus.Unsubscribe(handler);
    }
}
