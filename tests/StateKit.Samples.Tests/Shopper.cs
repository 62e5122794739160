using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;

namespace StateKit.Samples.Tests;

/// <summary>
/// One shopper against the sample over real HTTP: its own connection and cookie jar (so its own session), adding one
/// tea per request in a bounded loop, one request at a time, and recording every outcome.
/// </summary>
internal sealed class Shopper : IDisposable
{
    private readonly HttpClient _http;
    private readonly ConcurrentQueue<AddOutcome> _adds = new();

    public Shopper(int index, Uri baseAddress, TimeSpan clientTimeout)
    {
        Index = index;
        _http = new HttpClient(new SocketsHttpHandler { CookieContainer = new CookieContainer(), UseCookies = true })
        {
            BaseAddress = baseAddress,
            Timeout = clientTimeout,
        };
    }

    public int Index { get; }

    public IReadOnlyCollection<AddOutcome> Adds => _adds;

    /// <summary>Adds until <paramref name="stop"/> is set or <paramref name="maxAdds"/> is reached; never cancels a request in flight.</summary>
    public async Task RunAsync(Stopwatch clock, int maxAdds, TimeSpan pace, CancellationToken stop)
    {
        for (var i = 0; i < maxAdds && !stop.IsCancellationRequested; i++)
        {
            _adds.Enqueue(await AddAsync(clock).ConfigureAwait(false));

            // Pacing, not synchronisation: a person clicks, a loop on 2 shared cores should not saturate them.
            await Task.Delay(pace, TimeProvider.System, CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>Reads the shopper's cart: the quantity of tea, or <see langword="null"/> when the read itself failed.</summary>
    public async Task<(int? Tea, int Status)> ReadTeaAsync()
    {
        try
        {
            using var response = await _http.GetAsync(new Uri("/api/state", UriKind.Relative)).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                return (null, (int)response.StatusCode);
            }

            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync().ConfigureAwait(false));
            var tea = json.RootElement.GetProperty("cart").EnumerateArray()
                .Where(line => line.GetProperty("sku").GetString() == "tea")
                .Sum(line => line.GetProperty("quantity").GetInt32());
            return (tea, (int)response.StatusCode);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return (null, 0);
        }
    }

    public void Dispose() => _http.Dispose();

    private async Task<AddOutcome> AddAsync(Stopwatch clock)
    {
        var started = clock.Elapsed;
        try
        {
            using var response = await _http.PostAsync(new Uri("/api/cart/tea", UriKind.Relative), content: null).ConfigureAwait(false);
            await response.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
            return new AddOutcome(Index, started, clock.Elapsed, (int)response.StatusCode, response.Content.Headers.ContentType?.MediaType, null);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            // No response: a hang the client gave up on, or a broken connection. Either is a failure that is not a 503.
            return new AddOutcome(Index, started, clock.Elapsed, 0, null, e.GetType().Name + ": " + e.Message);
        }
    }
}
