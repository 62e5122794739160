using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StateKit.ClientSide;
using StateKit.DependencyInjection;
using StateKit.Redis.Testing;
using StateKit.Sticky;
using StateKit.Testing;

namespace StateKit.AspNetCore.Tests;

/// <summary>
/// Issue 13 item 7: the session id an app logs is not a credential. A full request cycle (new session, read, write, rotate,
/// revoke) runs on every store while an app logs and tags the id as ASP.NET Core apps log <c>HttpContext.Session.Id</c>;
/// then every log line, activity and metric tag is searched for the tickets the client carried and the bearer ids.
/// </summary>
public sealed class SessionIdTelemetryTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    public static TheoryData<string> Stores => new()
    {
        "memory", "sticky", "clientside", "jwt", "redis", "distributed-cache", "tiered", "resilient", "near-cache",
    };

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task FullRequestCycle_LogsActivitiesAndMetrics_NeverCarryTheTicketOrTheBearerId(string store)
    {
        using var capture = new TelemetryCapture();
        var bearerIds = new ConcurrentBag<string>();
        var publicIds = new ConcurrentBag<string>();
        await using var app = await TestApp.StartAsync(
            kit => Configure(store, kit),
            web => Map(web, bearerIds, publicIds),
            services: s =>
            {
                s.AddSingleton<ILoggerProvider>(capture);
                s.Configure<LoggerFilterOptions>(o => o.MinLevel = LogLevel.Trace);
            });

        var tickets = new HashSet<string>(StringComparer.Ordinal);
        async Task Send(HttpMethodKind kind, string path)
        {
            using var response = kind == HttpMethodKind.Get ? await app.Client.GetAsync(path) : await app.Client.PostAsync(path);
            response.EnsureSuccessStatusCode();
            tickets.UnionWith(app.Client.Cookies.Values);
        }

        await Send(HttpMethodKind.Post, "/cycle/set/cart/book");   // new session
        await Send(HttpMethodKind.Post, "/cycle/set/theme/dark");  // a second tier where there is one
        await Send(HttpMethodKind.Get, "/cycle/get/cart");         // read
        await Send(HttpMethodKind.Post, "/cycle/set/cart/pen");    // write
        await Send(HttpMethodKind.Post, "/cycle/rotate");          // rotate
        await Send(HttpMethodKind.Get, "/cycle/get/cart");         // read under the new id
        await Send(HttpMethodKind.Post, "/cycle/revoke");          // revoke

        var secrets = tickets.Concat(bearerIds).Where(s => s.Length >= 16).Distinct().ToList();
        Assert.NotEmpty(tickets);
        Assert.True(bearerIds.Distinct().Count() >= 2, $"a rotation should have given the session a second id ({bearerIds.Count} seen)");
        Assert.True(capture.LogLines > 0, "nothing was logged");

        // The id apps log is there, and StateKit's own traces carry the same value, so the two correlate.
        Assert.Contains(capture.Lines, l => publicIds.Any(p => p.Length > 0 && l.Contains(p, StringComparison.Ordinal)));
        Assert.Contains(capture.Lines, l => l.StartsWith("activity StateKit ", StringComparison.Ordinal)
            && (store == "tiered" // traced per tier: each activity carries its tier's public id, not the composite's
                ? l.Contains("statekit.session.id=", StringComparison.Ordinal)
                : publicIds.Any(p => p.Length > 0 && l.Contains("statekit.session.id=" + p, StringComparison.Ordinal))));
        foreach (var secret in secrets)
        {
            var leaks = capture.Containing(secret);
            Assert.True(leaks.Count == 0, $"'{secret}' appears in {leaks.Count} captured lines, e.g. {(leaks.Count > 0 ? leaks[0] : null)}");
        }
    }

    private void Configure(string store, StateKitBuilder kit)
    {
        switch (store)
        {
            case "sticky":
                kit.UseSticky(o =>
                {
                    o.NodeId = "a";
                    o.Keys.Add(new StickyKey { Id = "k1", Secret = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray() });
                });
                break;
            case "redis":
                TestStores.ConfigureRedis(kit, redis);
                break;
            case "tiered":
                kit.AddTier("critical", t => t.UseInMemory())
                    .AddTier("prefs", t => t.UseClientSide(o => o.Keys.Add(new ClientSideKey(1, TestStores.SealKey))))
                    .MapKey("theme", "prefs")
                    .WithDefaultTier("critical");
                break;
            case "resilient":
                kit.UseInMemory().WithCircuitBreaker();
                break;
            case "near-cache":
                kit.UseInMemory().WithNearCache();
                break;
            default:
                TestStores.Configure(store, kit);
                break;
        }
    }

    /// <summary>Handlers that log and tag the session id the way apps do, and remember the bearer ids the store used.</summary>
    private static void Map(WebApplication app, ConcurrentBag<string> bearerIds, ConcurrentBag<string> publicIds)
    {
        async Task<StateSession> Load(HttpContext context)
        {
            var session = context.GetStateSession();
            await session.LoadAsync(context.RequestAborted);
            if (session.Loaded?.Id is { } bearer)
            {
                bearerIds.Add(bearer);
            }

            var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("App");
#pragma warning disable CA1848, CA1873, CA2254 // An app's plain logging call, on purpose.
            logger.LogInformation("Request in session {SessionId} (HttpContext.Session.Id {AspNetSessionId})", session.Id, context.Session.Id);
#pragma warning restore CA1848, CA1873, CA2254
            Activity.Current?.SetTag("app.session.id", session.Id);
            publicIds.Add(session.Id ?? string.Empty);
            return session;
        }

        app.MapGet("/cycle/get/{key}", async (string key, HttpContext context) =>
            (await Load(context)).Get(key, ContractJsonContext.Default.String) ?? "(none)");
        app.MapPost("/cycle/set/{key}/{value}", async (string key, string value, HttpContext context) =>
        {
            (await Load(context)).Set(key, value, ContractJsonContext.Default.String);
            return "ok";
        });
        app.MapPost("/cycle/rotate", async (HttpContext context) =>
        {
            (await Load(context)).RotateId();
            return "rotated";
        });
        app.MapPost("/cycle/revoke", async (HttpContext context) =>
        {
            (await Load(context)).Revoke();
            return "revoked";
        });
    }

    private enum HttpMethodKind
    {
        Get,
        Post,
    }
}
