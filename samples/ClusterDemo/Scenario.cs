using System;
using System.Collections.Generic;
using System.Diagnostics.Metrics;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;

namespace ClusterDemo;

/// <summary>
/// Drives simulated shoppers through the gateway, stops one node gracefully, kills another mid-traffic, and counts
/// what each strategy served, lost, rehydrated and failed.
/// </summary>
internal static class Scenario
{
    public sealed record Row(string Strategy, int Users, long Served, int Lost, long Rehydrated, long Errors);

    public static async Task<Row> RunAsync(Strategy strategy, int users, int addsPerPhase)
    {
        long rehydrated = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "StateKit" && instrument.Name == "statekit.sticky.sessions.rehydrated")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref rehydrated, value));
        listener.Start();

        await using var cluster = await Cluster.StartAsync(strategy, 0, LogLevel.Critical);
        var shoppers = Enumerable.Range(0, users).Select(_ => new Shopper(cluster.GatewayAddress)).ToList();
        try
        {
            // 1. Everyone fills a cart.
            await PhaseAsync(shoppers, addsPerPhase, halfway: null);

            // 2. A rolling deploy takes node-1 out and stops it gracefully (sticky nodes drain).
            await cluster.StopGracefullyAsync("node-1");
            await PhaseAsync(shoppers, addsPerPhase, halfway: null);

            // 3. node-2 crashes in the middle of the traffic.
            await PhaseAsync(shoppers, addsPerPhase, halfway: () => cluster.KillAsync("node-2"));

            return new Row(
                strategy.Name,
                users,
                shoppers.Sum(s => s.Served),
                shoppers.Sum(s => s.Lost),
                Interlocked.Read(ref rehydrated),
                shoppers.Sum(s => s.Errors));
        }
        finally
        {
            shoppers.ForEach(s => s.Dispose());
        }
    }

    private static async Task PhaseAsync(List<Shopper> shoppers, int adds, Func<Task>? halfway)
    {
        var total = shoppers.Count * adds;
        var done = 0;
        var trigger = halfway is null ? Task.CompletedTask : null;
        var gate = new object();
        using var throttle = new SemaphoreSlim(16);

        async Task ShopAsync(Shopper shopper)
        {
            for (var i = 0; i < adds; i++)
            {
                await throttle.WaitAsync();
                try
                {
                    await shopper.AddAsync();
                }
                finally
                {
                    throttle.Release();
                }

                if (Interlocked.Increment(ref done) == total / 2 && halfway is not null)
                {
                    lock (gate)
                    {
                        trigger = halfway();
                    }
                }
            }
        }

        await Task.WhenAll(shoppers.Select(ShopAsync));
        Task? pending;
        lock (gate)
        {
            pending = trigger;
        }

        if (pending is not null)
        {
            await pending;
        }

        foreach (var shopper in shoppers)
        {
            await shopper.CheckAsync();
        }
    }

    /// <summary>One browser: a cookie jar, and how many items it knows it put in its cart.</summary>
    private sealed class Shopper : IDisposable
    {
        private readonly HttpClient _http;
        private int _expected;

        public Shopper(string gateway)
        {
            _http = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer() }) { BaseAddress = new Uri(gateway) };
        }

        public long Served { get; private set; }

        public long Errors { get; private set; }

        public int Lost { get; private set; }

        public async Task AddAsync()
        {
            try
            {
                using var response = await _http.PostAsync(new Uri("api/cart/tea", UriKind.Relative), null);
                if (response.IsSuccessStatusCode)
                {
                    Served++;
                    _expected++;
                }
                else
                {
                    Errors++;
                }
            }
            catch (HttpRequestException)
            {
                Errors++;
            }
        }

        /// <summary>Reads the cart back: fewer items than this shopper put in means the session lost state.</summary>
        public async Task CheckAsync()
        {
            try
            {
                using var response = await _http.GetAsync(new Uri("api/state", UriKind.Relative));
                if (!response.IsSuccessStatusCode)
                {
                    Errors++;
                    return;
                }

                Served++;
                using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                var actual = json.RootElement.GetProperty("cart").EnumerateArray().Sum(l => l.GetProperty("quantity").GetInt32());
                if (actual < _expected)
                {
                    Lost++;
                }

                _expected = actual;
            }
            catch (HttpRequestException)
            {
                Errors++;
            }
        }

        public void Dispose() => _http.Dispose();
    }
}
