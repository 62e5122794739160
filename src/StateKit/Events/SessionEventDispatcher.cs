using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StateKit.Diagnostics;

namespace StateKit.Events;

/// <summary>
/// The one queue between the stores of a service provider and its event handlers: stores write without waiting (a full
/// queue drops and counts), one background reader hands each event to every handler in turn. Registered only when the
/// application subscribes, so that stores without subscribers get no sink and pay nothing. Also runs the stores'
/// periodic sweeps for expired sessions, on the application's <see cref="TimeProvider"/>.
/// </summary>
internal sealed class SessionEventDispatcher : IHostedService, IDisposable
{
    private readonly IServiceProvider _services;
    private readonly SessionEventOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Channel<PendingSessionEvent> _queue;
    private readonly ConcurrentDictionary<string, SessionEventSink> _sinks = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _abandon = new();
    private readonly Lock _sweepsGate = new();
    private Action[] _sweeps = [];
    private ITimer? _sweepTimer;
    private Task? _reader;
    private long _dropped;
    private long _delivered;
    private int _disposed;

    public SessionEventDispatcher(IServiceProvider services, IOptions<SessionEventOptions> options, TimeProvider? time = null, ILogger<SessionEventDispatcher>? logger = null)
    {
        _services = services;
        _options = options.Value;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? (ILogger)NullLogger.Instance;

        // Wait mode only so that TryWrite reports a full queue (DropWrite would report success and drop silently); nothing waits.
        _queue = Channel.CreateBounded<PendingSessionEvent>(new BoundedChannelOptions(_options.QueueCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = false,
        });
    }

    /// <summary>Gets how many events were dropped because the queue was full (also the <c>statekit.events.dropped</c> counter).</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Gets how many events the reader handed to the handlers.</summary>
    public long Delivered => Interlocked.Read(ref _delivered);

    /// <summary>The sink of the store registered under <paramref name="registrationName"/>, created on first use.</summary>
    public SessionEventSink SinkFor(string registrationName, string storeName)
        => _sinks.GetOrAdd(registrationName, static (_, state) => new SessionEventSink(state.Dispatcher, state.StoreName, state.Dispatcher._time), (Dispatcher: this, StoreName: storeName));

    /// <summary>The sink already created for <paramref name="registrationName"/>, for decorators built over that store.</summary>
    public SessionEventSink? FindSink(string registrationName) => _sinks.TryGetValue(registrationName, out var sink) ? sink : null;

    public void Enqueue(in PendingSessionEvent pending)
    {
        if (!_queue.Writer.TryWrite(pending))
        {
            Interlocked.Increment(ref _dropped);
            StateKitTelemetry.EventsDropped.Add(1, pending.Sink.StoreTag);
        }
    }

    public void AddSweep(Action sweep)
    {
        lock (_sweepsGate)
        {
            _sweeps = [.. _sweeps, sweep];
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // Resolved here, not in the constructor: a handler may depend on the stores, whose sinks come from this dispatcher.
        var handlers = _services.GetServices<ISessionEventHandler>().ToArray();
        _reader = Task.Run(() => ReadAsync(handlers), CancellationToken.None);
        _sweepTimer = _time.CreateTimer(static state => ((SessionEventDispatcher)state!).Sweep(), this, _options.ExpirySweepInterval, _options.ExpirySweepInterval);
        return Task.CompletedTask;
    }

    /// <summary>Stops taking events and delivers those queued, until the host's shutdown token gives up on them.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_sweepTimer is { } timer)
        {
            await timer.DisposeAsync().ConfigureAwait(false);
        }

        _queue.Writer.TryComplete();
        if (_reader is null)
        {
            return;
        }

        try
        {
            await _reader.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Log.SessionEventsAbandoned(_logger, _queue.Reader.Count);
            await _abandon.CancelAsync().ConfigureAwait(false);
        }
    }

    // DI disposes it twice: as itself and as the hosted service the same instance is registered as.
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _queue.Writer.TryComplete();
        _sweepTimer?.Dispose();
        _abandon.Cancel();
        _abandon.Dispose();
    }

    private async Task ReadAsync(ISessionEventHandler[] handlers)
    {
        var reader = _queue.Reader;
        var abandon = _abandon.Token;
        while (await reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
        {
            while (!abandon.IsCancellationRequested && reader.TryRead(out var pending))
            {
                var sessionEvent = pending.ToEvent();
                foreach (var handler in handlers)
                {
                    try
                    {
                        await handler.HandleAsync(sessionEvent, abandon).ConfigureAwait(false);
                    }
#pragma warning disable CA1031 // A handler's failure must not stop delivery to the others, nor reach a store.
                    catch (Exception e)
#pragma warning restore CA1031
                    {
                        StateKitTelemetry.EventHandlerErrors.Add(1, pending.Sink.StoreTag);
                        Log.SessionEventHandlerFailed(_logger, handler.GetType().Name, sessionEvent.Kind, sessionEvent.StoreName, e);
                    }
                }

                Interlocked.Increment(ref _delivered);
            }

            if (abandon.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private void Sweep()
    {
        foreach (var sweep in Volatile.Read(ref _sweeps))
        {
            try
            {
                sweep();
            }
#pragma warning disable CA1031 // One store's failed sweep must not stop the others' nor the timer.
            catch (Exception e)
#pragma warning restore CA1031
            {
                Log.SessionEventSweepFailed(_logger, e);
            }
        }
    }
}
