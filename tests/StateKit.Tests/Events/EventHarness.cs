using System;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StateKit.Diagnostics;
using StateKit.Events;
using StateKit.Testing;

namespace StateKit.Tests.Events;

/// <summary>
/// A started event dispatcher with a recorder, for tests of one store built by hand: <see cref="Attach"/> gives the store
/// its sink as <c>AddStateKit</c> would, <see cref="Front"/> wraps it as the registration does (created, rotated, revoked).
/// </summary>
internal sealed class EventHarness : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    public EventHarness(TimeProvider time, Action<SessionEventOptions>? configure = null, params ISessionEventHandler[] handlers)
    {
        var services = new ServiceCollection();
        services.AddSingleton<ISessionEventHandler>(Recorder);
        foreach (var handler in handlers)
        {
            services.AddSingleton(handler);
        }

        _services = services.BuildServiceProvider();
        var options = new SessionEventOptions();
        configure?.Invoke(options);
        Dispatcher = new SessionEventDispatcher(_services, Options.Create(options), time);
        Dispatcher.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
    }

    public SessionEventRecorder Recorder { get; } = new();

    public SessionEventDispatcher Dispatcher { get; }

    public SessionEventSink Sink(string storeName) => Dispatcher.SinkFor(storeName, storeName);

    public T Attach<T>(T store, string storeName)
        where T : ISessionEventSource
    {
        store.AttachEvents(Sink(storeName));
        return store;
    }

    public ISessionStore Front(ISessionStore store, string storeName)
    {
        if (store is ISessionEventSource source)
        {
            source.AttachEvents(Sink(storeName));
        }

        return new InstrumentedSessionStore(store, storeName, Sink(storeName));
    }

    /// <summary>Waits until every event raised so far reached the handlers: a marker raised last is delivered last.</summary>
    public async Task FlushAsync()
    {
        var marker = SessionIds.NewId();
        Sink("flush-marker").Raise(SessionEventKinds.Created, SessionEventReason.NewSession, marker);
        await Recorder.WaitForAsync(SessionEventKinds.Created, marker);
    }

    /// <summary>The events of one store, the flush markers left out.</summary>
    public SessionEvent[] EventsOf(string storeName) => [.. System.Linq.Enumerable.Where(Recorder.Events, e => e.StoreName == storeName)];

    public async ValueTask DisposeAsync()
    {
        await Dispatcher.StopAsync(CancellationToken.None);
        Dispatcher.Dispose();
        await _services.DisposeAsync();
    }
}
