using System;
using System.Collections.Generic;
using System.Linq;
using System.Net.Http;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StateKit.DependencyInjection;

namespace StateKit.AspNetCore.Tests;

/// <summary>A real ASP.NET Core app on the in-memory test server, with a client that keeps cookies like a browser.</summary>
internal sealed class TestApp : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TestApp(WebApplication app)
    {
        _app = app;
        Client = new CookieClient(app.GetTestClient());
    }

    public CookieClient Client { get; }

    /// <summary>Another client of the same app, with cookies of its own (a second browser).</summary>
    public CookieClient NewClient() => new(_app.GetTestClient());

    public IServiceProvider Services => _app.Services;

    public ISessionStore Store => _app.Services.GetRequiredService<SessionStores>().GetStore();

    public static async Task<TestApp> StartAsync(
        Action<StateKitBuilder> configureStores,
        Action<WebApplication> map,
        Action<StateKitHttpOptions>? configureHttp = null,
        string environment = "Production",
        Action<IServiceCollection>? services = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = environment });
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        services?.Invoke(builder.Services);
        builder.Services.AddStateKit(kit =>
        {
            configureStores(kit);
            kit.AddHttp(configureHttp);
        });
        var app = builder.Build();
        app.UseStateKit();
        map(app);
        await app.StartAsync();
        return new TestApp(app);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.DisposeAsync();
    }
}

/// <summary>An HttpClient that stores and replays cookies, and records the Set-Cookie headers of the last response.</summary>
internal sealed class CookieClient(HttpClient http) : IDisposable
{
    public Dictionary<string, string> Cookies { get; } = new(StringComparer.Ordinal);

    public IReadOnlyList<string> LastSetCookies { get; private set; } = [];

    public HttpClient Http => http;

    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, Action<HttpRequestMessage>? configure = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (Cookies.Count > 0)
        {
            request.Headers.Add("Cookie", string.Join("; ", Cookies.Select(c => $"{c.Key}={c.Value}")));
        }

        configure?.Invoke(request);
        var response = await http.SendAsync(request);
        LastSetCookies = response.Headers.TryGetValues("Set-Cookie", out var values) ? values.ToList() : [];
        foreach (var header in LastSetCookies)
        {
            var nameValue = header.Split(';')[0];
            var eq = nameValue.IndexOf('=', StringComparison.Ordinal);
            var name = nameValue[..eq];
            var value = nameValue[(eq + 1)..];
            var expired = header.Contains("expires=Thu, 01 Jan 1970", StringComparison.OrdinalIgnoreCase);
            if (expired || value.Length == 0)
            {
                Cookies.Remove(name);
            }
            else
            {
                Cookies[name] = value;
            }
        }

        return response;
    }

    public Task<HttpResponseMessage> GetAsync(string path) => SendAsync(HttpMethod.Get, path);

    public Task<HttpResponseMessage> PostAsync(string path) => SendAsync(HttpMethod.Post, path);

    public async Task<string> GetStringAsync(string path)
    {
        using var response = await GetAsync(path);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsStringAsync();
    }

    public void Dispose() => http.Dispose();
}
