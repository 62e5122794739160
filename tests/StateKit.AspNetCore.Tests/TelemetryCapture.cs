using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Linq;
using Microsoft.Extensions.Logging;

namespace StateKit.AspNetCore.Tests;

/// <summary>
/// Everything a request cycle tells the outside world: every log line (message, structured values, scopes, exception
/// text), every activity (name, tags, events, baggage) and every metric measurement's tags. Activities and metrics are
/// process-wide, so other tests running in parallel add to them; a search for one test's secrets is still exact.
/// </summary>
internal sealed class TelemetryCapture : ILoggerProvider, IDisposable
{
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly ActivityListener _activities;
    private readonly MeterListener _meters;

    public TelemetryCapture()
    {
        _activities = new ActivityListener
        {
            ShouldListenTo = _ => true,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = Record,
        };
        ActivitySource.AddActivityListener(_activities);

        _meters = new MeterListener { InstrumentPublished = (instrument, listener) => listener.EnableMeasurementEvents(instrument) };
        _meters.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i, v, tags));
        _meters.SetMeasurementEventCallback<int>((i, v, tags, _) => Record(i, v, tags));
        _meters.SetMeasurementEventCallback<double>((i, v, tags, _) => Record(i, v, tags));
        _meters.Start();
    }

    /// <summary>Gets how many log lines were captured (only this app's logs, unlike activities and metrics).</summary>
    public int LogLines => _lines.Count(l => l.StartsWith("log ", StringComparison.Ordinal));

    public IReadOnlyList<string> Lines => _lines.ToList();

    /// <summary>The captured lines that contain <paramref name="secret"/>.</summary>
    public IReadOnlyList<string> Containing(string secret) => _lines.Where(l => l.Contains(secret, StringComparison.Ordinal)).ToList();

    public ILogger CreateLogger(string categoryName) => new CapturingLogger(this, categoryName);

    public void Dispose()
    {
        _activities.Dispose();
        _meters.Dispose();
    }

    private void Record(Activity activity)
    {
        var text = $"activity {activity.Source.Name} {activity.OperationName} {activity.DisplayName} {activity.StatusDescription}"
            + string.Concat(activity.TagObjects.Select(t => $" {t.Key}={t.Value}"))
            + string.Concat(activity.Baggage.Select(b => $" baggage {b.Key}={b.Value}"))
            + string.Concat(activity.Events.Select(e => $" event {e.Name}" + string.Concat(e.Tags.Select(t => $" {t.Key}={t.Value}"))));
        _lines.Enqueue(text);
    }

    private void Record<T>(Instrument instrument, T value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var text = $"metric {instrument.Meter.Name} {instrument.Name} {value}";
        foreach (var tag in tags)
        {
            text += $" {tag.Key}={tag.Value}";
        }

        _lines.Enqueue(text);
    }

    private sealed class CapturingLogger(TelemetryCapture capture, string category) : ILogger
    {
        private readonly AsyncLocalScopes _scopes = new();

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => _scopes.Push(state.ToString() ?? string.Empty);

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var text = $"log {category} {eventId} {logLevel} {formatter(state, exception)}";
            if (state is IEnumerable<KeyValuePair<string, object?>> values)
            {
                text += string.Concat(values.Select(v => $" {v.Key}={v.Value}"));
            }

            text += _scopes.Current + (exception is null ? string.Empty : " " + exception);
            capture._lines.Enqueue(text);
        }
    }

    private sealed class AsyncLocalScopes
    {
        private readonly System.Threading.AsyncLocal<string?> _current = new();

        public string Current => _current.Value ?? string.Empty;

        public IDisposable Push(string scope)
        {
            var previous = _current.Value;
            _current.Value = previous + " scope " + scope;
            return new Pop(() => _current.Value = previous);
        }

        private sealed class Pop(Action pop) : IDisposable
        {
            public void Dispose() => pop();
        }
    }
}
