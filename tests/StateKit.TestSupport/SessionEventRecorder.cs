using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StateKit.Events;

namespace StateKit.Testing;

/// <summary>
/// An <see cref="ISessionEventHandler"/> that keeps every event it receives and lets a test wait for one: events arrive on
/// the dispatcher's background reader, so a test waits on the event itself rather than on time.
/// </summary>
public sealed class SessionEventRecorder : ISessionEventHandler
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly Lock _gate = new();
    private readonly List<SessionEvent> _events = [];
    private readonly List<(Func<SessionEvent, bool> Match, TaskCompletionSource<SessionEvent> Found)> _waiters = [];

    /// <summary>Gets a copy of the events received so far, in order.</summary>
    public IReadOnlyList<SessionEvent> Events
    {
        get
        {
            lock (_gate)
            {
                return [.. _events];
            }
        }
    }

    /// <summary>Starts every hosted service of a provider (the event dispatcher among them), as a host would.</summary>
    public static async Task StartHostedAsync(IServiceProvider services)
    {
        foreach (var hosted in services.GetServices<IHostedService>())
        {
            await hosted.StartAsync(CancellationToken.None);
        }
    }

    /// <summary>Stops every hosted service of a provider: the event dispatcher delivers what it queued first, so the recorder then holds every event raised.</summary>
    public static async Task StopHostedAsync(IServiceProvider services)
    {
        foreach (var hosted in services.GetServices<IHostedService>().Reverse())
        {
            await hosted.StopAsync(CancellationToken.None);
        }
    }

    /// <inheritdoc />
    public ValueTask HandleAsync(SessionEvent sessionEvent, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _events.Add(sessionEvent);
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Match(sessionEvent))
                {
                    _waiters[i].Found.TrySetResult(sessionEvent);
                    _waiters.RemoveAt(i);
                }
            }
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Waits for the first event (received already or later) that matches.</summary>
    public Task<SessionEvent> WaitForAsync(Func<SessionEvent, bool> match)
    {
        var found = new TaskCompletionSource<SessionEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            foreach (var e in _events)
            {
                if (match(e))
                {
                    return Task.FromResult(e);
                }
            }

            _waiters.Add((match, found));
        }

        return found.Task.WaitAsync(Patience);
    }

    /// <summary>Waits for an event of one kind about one session (by the id its store knows it by).</summary>
    public Task<SessionEvent> WaitForAsync(SessionEventKinds kind, string sessionId)
    {
        var publicId = SessionIds.ToPublicId(sessionId);
        return WaitForAsync(e => e.Kind == kind && e.PublicId == publicId);
    }

    /// <summary>Fails when any field of any event received carries <paramref name="secret"/> (a bearer id, a ticket).</summary>
    public void AssertNeverCarries(string secret)
    {
        foreach (var e in Events)
        {
            string?[] fields = [e.PublicId, e.PreviousPublicId, e.StoreName, e.UserId, e.ToString()];
            if (fields.Any(f => f is not null && f.Contains(secret, StringComparison.Ordinal)))
            {
                throw new InvalidOperationException($"A session event carries a secret: {e}.");
            }
        }
    }
}
