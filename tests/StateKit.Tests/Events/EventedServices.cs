using System;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using StateKit.DependencyInjection;
using StateKit.Testing;

namespace StateKit.Tests.Events;

/// <summary>
/// Stores registered with <c>AddStateKit</c> as an application registers them, with a recorder subscribed to their events,
/// on a <see cref="FakeTimeProvider"/>; the hosted services (the event dispatcher among them) started as a host would.
/// </summary>
internal sealed class EventedServices : IAsyncDisposable
{
    private ServiceProvider? _provider;

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 30, 8, 0, 0, TimeSpan.Zero));

    public SessionEventRecorder Recorder { get; } = new();

    public ServiceProvider Provider => _provider ?? throw new InvalidOperationException("Call StartAsync first.");

    public async Task<ISessionStore> StartAsync(Action<StateKitBuilder> configure, Action<IServiceCollection>? services = null)
    {
        var collection = new ServiceCollection();
        collection.AddSingleton<TimeProvider>(Time);
        services?.Invoke(collection);
        collection.AddStateKit(kit =>
        {
            configure(kit);
            kit.OnSessionEvent(Recorder.HandleAsync);
        });
        _provider = collection.BuildServiceProvider();
        await SessionEventRecorder.StartHostedAsync(_provider);
        return _provider.GetRequiredService<ISessionStore>();
    }

    /// <summary>Stops the hosted services: the dispatcher delivers what it queued first, so the recorder then holds every event raised.</summary>
    public Task DeliverAllAsync() => SessionEventRecorder.StopHostedAsync(Provider);

    public async ValueTask DisposeAsync()
    {
        if (_provider is not null)
        {
            await SessionEventRecorder.StopHostedAsync(_provider);
            await _provider.DisposeAsync();
        }
    }
}
