using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Net.Http;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;

namespace StateKit.Samples.Tests;

/// <summary>
/// Polls the sample's <c>GET /health</c> as a load balancer would and keeps each change of what it reports: the health
/// status and, behind a circuit breaker, the circuit's state.
/// </summary>
internal sealed class HealthMonitor : IDisposable
{
    private readonly HttpClient _http;
    private readonly ConcurrentQueue<HealthChange> _changes = new();
    private string _current = "not polled yet";

    public HealthMonitor(Uri baseAddress) => _http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };

    public IReadOnlyCollection<HealthChange> Changes => _changes;

    /// <summary>Gets what the last poll saw, e.g. <c>Unhealthy, circuit Open</c>.</summary>
    public string Current => Volatile.Read(ref _current);

    public async Task RunAsync(Stopwatch clock, TimeSpan interval, int maxPolls, CancellationToken stop)
    {
        string? last = null;
        for (var i = 0; i < maxPolls && !stop.IsCancellationRequested; i++)
        {
            var seen = await PollAsync().ConfigureAwait(false);
            Volatile.Write(ref _current, seen);
            if (seen != last)
            {
                _changes.Enqueue(new HealthChange(clock.Elapsed, seen));
                last = seen;
            }

            await Task.Delay(interval, TimeProvider.System, CancellationToken.None).ConfigureAwait(false);
        }
    }

    public void Dispose() => _http.Dispose();

    private async Task<string> PollAsync()
    {
        try
        {
            using var response = await _http.GetAsync(new Uri("/health", UriKind.Relative)).ConfigureAwait(false);
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync().ConfigureAwait(false));
            var status = json.RootElement.GetProperty("status").GetString();
            return json.RootElement.TryGetProperty("circuit", out var circuit) ? $"{status}, circuit {circuit.GetString()}" : $"{status}, no breaker";
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException)
        {
            return "no answer: " + e.GetType().Name;
        }
    }
}
