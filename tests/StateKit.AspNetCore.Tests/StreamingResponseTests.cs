using System;
using System.Collections.Generic;
using System.Linq;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StateKit.DependencyInjection;
using StateKit.Testing;

namespace StateKit.AspNetCore.Tests;

/// <summary>
/// Issue 15: the sessions are committed when the response starts, and the body streams. Each handler parks on a gate the
/// test opens only after it has read what the handler wrote, so a buffered body (the behaviour before issue 15) never
/// reaches the test and the read times out: the gate proves streaming without any clock.
/// </summary>
public sealed class StreamingResponseTests
{
    private static readonly TimeSpan Cap = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData("memory")]
    [InlineData("distributed-cache")]
    [InlineData("clientside")]
    [InlineData("jwt")]
    public async Task ServerSentEvents_FirstEventArrivesBeforeTheHandlerEnds_AndTheSessionIsAlreadySaved(string store)
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await TestApp.StartAsync(kit => TestStores.Configure(store, kit), a => Map(a, gate.Task));
        await app.Client.PostAsync("/set/name/ana");

        using var response = await SendStreamingAsync(app, "/sse");
        var stream = await response.Content.ReadAsStreamAsync();
        var first = await ReadAtLeastAsync(stream, "data: hello ana\n\n".Length).WaitAsync(Cap);

        Assert.Equal("data: hello ana\n\n", first);

        // The first event went out, so the visit count was saved with it: another request sees it while the stream is open.
        var cookies = new Dictionary<string, string>(app.Client.Cookies, StringComparer.Ordinal);
        foreach (var header in response.Headers.TryGetValues("Set-Cookie", out var set) ? set : [])
        {
            var pair = header.Split(';')[0].Split('=', 2);
            cookies[pair[0]] = pair[1];
        }

        using var peek = new HttpRequestMessage(HttpMethod.Get, "/get/visits");
        peek.Headers.Add("Cookie", string.Join("; ", cookies.Select(c => $"{c.Key}={c.Value}")));
        using var peeked = await app.Client.Http.SendAsync(peek).WaitAsync(Cap);
        Assert.Equal("1", await peeked.Content.ReadAsStringAsync());

        gate.SetResult();
        Assert.Equal("data: bye\n\n", await new StreamReader(stream).ReadToEndAsync().WaitAsync(Cap));
    }

    [Fact]
    public async Task LargeDownload_StreamsWithoutBufferingTheBody()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        IHttpResponseBodyFeature? seen = null;
        await using var app = await TestApp.StartAsync(kit => kit.UseInMemory(), a =>
        {
            Endpoints.Map(a);
            a.MapGet("/download", async (HttpContext context, StateSession session) =>
            {
                session.Set("downloads", "1", ContractJsonContext.Default.String);
                seen = context.Features.Get<IHttpResponseBodyFeature>();
                var chunk = new byte[64 * 1024];
                for (var i = 0; i < 16; i++)
                {
                    await context.Response.Body.WriteAsync(chunk);
                }

                await gate.Task;
            });
        });

        using var response = await SendStreamingAsync(app, "/download");
        var stream = await response.Content.ReadAsStreamAsync();

        // A megabyte arrives while the handler is still parked: it was never held in a buffer, let alone a temp file.
        var buffer = new byte[1024 * 1024];
        await stream.ReadExactlyAsync(buffer).AsTask().WaitAsync(Cap);
        Assert.IsType<CommitOnStartBodyFeature>(seen);
        Assert.IsNotType<FileBufferingWriteStream>(seen!.Stream);
        gate.SetResult();
        Assert.Equal(0, await stream.ReadAsync(new byte[1]).AsTask().WaitAsync(Cap));
    }

    [Theory]
    [InlineData("/write-after-set/name/bob")]
    [InlineData("/swallow/name/bob")] // an app that catches everything around its writes must not lose the failure with it
    public async Task CommitFailingAtTheFirstWrite_Becomes503ProblemDetails(string path)
    {
        var cache = new SwitchableCache();
        await using var app = await TestApp.StartAsync(
            kit => kit.UseDistributedCache(),
            a => Map(a, Task.CompletedTask),
            services: s => s.AddSingleton<IDistributedCache>(cache));
        await app.Client.PostAsync("/set/name/ana");
        cache.Down = true;

        using var response = await app.Client.PostAsync(path);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Contains("could not be saved", body, StringComparison.Ordinal);
        Assert.DoesNotContain("written", body, StringComparison.Ordinal);
        cache.Down = false;
        Assert.Equal("ana", await app.Client.GetStringAsync("/get/name"));
    }

    [Fact]
    public async Task BytesFromGetMemoryAndAdvance_WaitForTheCommitAndAreNotLost()
    {
        await using var app = await TestApp.StartAsync(kit => kit.UseInMemory(), a => Map(a, Task.CompletedTask));

        using var response = await app.Client.PostAsync("/advance-only/name/ana");

        Assert.Equal("advanced", await response.Content.ReadAsStringAsync());
        Assert.Equal("ana", await app.Client.GetStringAsync("/get/name"));
    }

    [Fact]
    public async Task PipeWriterBytesAcrossSeveralPooledSegments_ArriveWholeAndInOrderAfterTheCommit()
    {
        // JSON results write through GetMemory/Advance; before the start those bytes wait in pooled segments, and a hint
        // larger than what is left of one opens the next: nothing may be lost, reordered or sent before the commit.
        await using var app = await TestApp.StartAsync(kit => kit.UseInMemory(), a => Map(a, Task.CompletedTask));

        using var response = await app.Client.PostAsync("/advance-segments/name/ana");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(SegmentedBody(), body);
        Assert.Equal("ana", await app.Client.GetStringAsync("/get/name"));
    }

    [Theory]
    [InlineData("/change-after-flush")]
    [InlineData("/legacy-change-after-flush")]
    public async Task ChangeAfterTheFirstFlush_ThrowsNamingTheSession_AndIsNotSaved(string path)
    {
        await using var app = await TestApp.StartAsync(kit => kit.UseInMemory(), a => Map(a, Task.CompletedTask));
        await app.Client.PostAsync("/set/name/ana");

        var body = await app.Client.GetStringAsync(path);

        Assert.Matches("^first\\|InvalidOperationException: Session [A-Za-z0-9_-]+ is read-only: the response has already started, and StateKit saved this session \\(the default store\\)", body);
        Assert.Contains("BufferStateKitResponse", body, StringComparison.Ordinal);
        Assert.Equal("ana", await app.Client.GetStringAsync("/get/name"));
    }

    [Fact]
    public async Task ReadAfterTheFirstFlush_SeesTheRequestsOwnWrite_WithoutAnotherLoad()
    {
        // An SSE loop reads the session between events. The commit at the first flush used to drop what the session had
        // loaded: StateSession.Get threw "not loaded", and the ISession adapter blocked on a second, synchronous load.
        CountingSessionStore? counted = null;
        await using var app = await TestApp.StartAsync(
            kit => kit.UseStore<Memory.InMemorySessionStoreOptions>("counting", null, (_, o) => counted = new CountingSessionStore(new Memory.InMemorySessionStore(o))),
            a => Map(a, Task.CompletedTask));
        await app.Client.PostAsync("/set/name/ana");
        var before = counted!.Loads;

        var body = await app.Client.GetStringAsync("/read-after-flush");

        // ISession reads the stored bytes, which StateSession wrote as JSON.
        Assert.Equal("first|bob|\"bob\"", body);
        Assert.Equal(1, counted.Loads - before);
        Assert.Equal("bob", await app.Client.GetStringAsync("/get/name"));
    }

    [Fact]
    public async Task SessionFirstTouchedAfterTheResponseStarted_ReadsButRefusesChanges()
    {
        await using var app = await TestApp.StartAsync(kit => kit.UseInMemory(), a => Map(a, Task.CompletedTask));
        await app.Client.PostAsync("/set/name/ana");

        var body = await app.Client.GetStringAsync("/touch-after-start");

        Assert.StartsWith("started|ana|InvalidOperationException: Session ", body, StringComparison.Ordinal);
        Assert.Contains("is read-only: the response has already started", body, StringComparison.Ordinal);
        Assert.Equal("ana", await app.Client.GetStringAsync("/get/name"));
    }

    [Theory]
    [InlineData(false, "/buffered/change-after-flush")]
    [InlineData(true, "/change-after-flush")]
    [InlineData(true, "/legacy-change-after-flush")]
    public async Task BufferingOptIn_PerEndpointOrGlobally_SavesAChangeAfterTheFirstWrite(bool global, string path)
    {
        await using var app = await TestApp.StartAsync(
            kit => kit.UseInMemory(),
            a => Map(a, Task.CompletedTask),
            http => http.BufferResponseBody = global);
        await app.Client.PostAsync("/set/name/ana");

        Assert.Equal("first|changed", await app.Client.GetStringAsync(path));

        // ISession stores raw strings, StateSession JSON: read back each through the API that wrote it.
        Assert.Equal("bob", await app.Client.GetStringAsync(path.StartsWith("/legacy", StringComparison.Ordinal) ? "/legacy/name" : "/get/name"));
    }

    [Fact]
    public async Task BufferingOptIn_KeepsBytesLeftUnflushedInTheWriter()
    {
        // Before issue 15 the buffered body dropped what GetMemory/Advance wrote without a flush.
        await using var app = await TestApp.StartAsync(kit => kit.UseInMemory(), a => Map(a, Task.CompletedTask), http => http.BufferResponseBody = true);

        using var response = await app.Client.PostAsync("/advance-only/name/ana");

        Assert.Equal("advanced", await response.Content.ReadAsStringAsync());
        Assert.Equal("ana", await app.Client.GetStringAsync("/get/name"));
    }

    [Fact]
    public async Task Kestrel_ServerSentEvents_StreamAfterTheCommit_AndAFailedCommitIsStill503()
    {
        // Kestrel's own GetMemory starts the response, unlike the test server's: bytes written before the first flush must
        // wait in the wrapper for the commit, and a failure must still find the response unstarted.
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var cache = new SwitchableCache();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Development" });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<IDistributedCache>(cache);
        builder.Services.AddStateKit(kit =>
        {
            kit.UseDistributedCache();
            kit.AddHttp();
        });
        await using var app = builder.Build();
        app.UseStateKit();
        Map(app, gate.Task);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        using var http = new HttpClient(new SocketsHttpHandler { UseCookies = true, CookieContainer = new CookieContainer() }) { BaseAddress = new Uri(address) };
        (await http.PostAsync("/set/name/ana", null)).EnsureSuccessStatusCode();

        using (var response = await http.GetAsync("/sse", HttpCompletionOption.ResponseHeadersRead).WaitAsync(Cap))
        {
            var stream = await response.Content.ReadAsStreamAsync();
            Assert.Equal("data: hello ana\n\n", await ReadAtLeastAsync(stream, "data: hello ana\n\n".Length).WaitAsync(Cap));
            gate.SetResult();
            Assert.Equal("data: bye\n\n", await new StreamReader(stream).ReadToEndAsync().WaitAsync(Cap));
        }

        cache.Down = true;
        using var failed = await http.PostAsync("/write-after-set/name/bob", null).WaitAsync(Cap);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, failed.StatusCode);
        Assert.Equal("application/problem+json", failed.Content.Headers.ContentType?.MediaType);
        cache.Down = false;
        Assert.Equal("ana", await http.GetStringAsync("/get/name"));
    }

    // 100 bytes, then a hint larger than a 4 KB segment's rest, then small writes into what is left of that one.
    private static readonly (char Letter, int Count)[] Segments = [('a', 100), ('b', 10_000), ('c', 1), ('d', 3_000), ('e', 5_000)];

    private static string SegmentedBody() => string.Concat(Segments.Select(s => new string(s.Letter, s.Count)));

    private static async Task<HttpResponseMessage> SendStreamingAsync(TestApp app, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (app.Client.Cookies.Count > 0)
        {
            request.Headers.Add("Cookie", string.Join("; ", app.Client.Cookies.Select(c => $"{c.Key}={c.Value}")));
        }

        return await app.Client.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(Cap);
    }

    private static async Task<string> ReadAtLeastAsync(Stream stream, int count)
    {
        var buffer = new byte[count];
        await stream.ReadExactlyAsync(buffer);
        return Encoding.UTF8.GetString(buffer);
    }

    private static string Attempt(Action change)
    {
        try
        {
            change();
            return "changed";
        }
        catch (InvalidOperationException e)
        {
            return "InvalidOperationException: " + e.Message;
        }
    }

    private static void Map(WebApplication app, Task gate)
    {
        Endpoints.Map(app);
        app.MapGet("/sse", async (HttpContext context, StateSession session) =>
        {
            var name = await session.GetAsync("name", ContractJsonContext.Default.String);
            session.Set("visits", "1", ContractJsonContext.Default.String);
            context.Response.ContentType = "text/event-stream";
            await context.Response.WriteAsync($"data: hello {name}\n\n");
            await context.Response.Body.FlushAsync();
            await gate;
            await context.Response.WriteAsync("data: bye\n\n");
        });
        app.MapGet("/change-after-flush", async (HttpContext context, StateSession session) =>
        {
            await session.LoadAsync();
            await context.Response.WriteAsync("first|");
            await context.Response.Body.FlushAsync();
            await context.Response.WriteAsync(Attempt(() => session.Set("name", "bob", ContractJsonContext.Default.String)));
        });
        app.MapGet("/buffered/change-after-flush", async (HttpContext context, StateSession session) =>
        {
            await session.LoadAsync();
            await context.Response.WriteAsync("first|");
            await context.Response.Body.FlushAsync();
            await context.Response.WriteAsync(Attempt(() => session.Set("name", "bob", ContractJsonContext.Default.String)));
        }).BufferStateKitResponse();
        app.MapGet("/legacy-change-after-flush", async (HttpContext context) =>
        {
            await context.Session.LoadAsync();
            await context.Response.WriteAsync("first|");
            await context.Response.Body.FlushAsync();
            await context.Response.WriteAsync(Attempt(() => context.Session.SetString("name", "bob")));
        });
        app.MapGet("/read-after-flush", async (HttpContext context, StateSession session) =>
        {
            await session.LoadAsync();
            session.Set("name", "bob", ContractJsonContext.Default.String);
            await context.Response.WriteAsync("first|");
            await context.Response.Body.FlushAsync();
            await context.Response.WriteAsync(session.Get("name", ContractJsonContext.Default.String) + "|" + context.Session.GetString("name"));
        });
        app.MapGet("/touch-after-start", async (HttpContext context) =>
        {
            await context.Response.WriteAsync("started|");
            await context.Response.Body.FlushAsync();
            var session = context.GetStateSession();
            var name = await session.GetAsync("name", ContractJsonContext.Default.String);
            await context.Response.WriteAsync(name + "|" + Attempt(() => session.Remove("name")));
        });
        app.MapPost("/write-after-set/{key}/{value}", async (string key, string value, HttpContext context, StateSession session) =>
        {
            session.Set(key, value, ContractJsonContext.Default.String);
            await context.Response.WriteAsync("written");
        });
        app.MapPost("/swallow/{key}/{value}", async (string key, string value, HttpContext context, StateSession session) =>
        {
            session.Set(key, value, ContractJsonContext.Default.String);
            try
            {
                await context.Response.WriteAsync("written");
            }
            catch (Exception)
            {
            }

            try
            {
                await context.Response.WriteAsync("written again");
            }
            catch (Exception)
            {
            }
        });
        app.MapPost("/advance-segments/{key}/{value}", (string key, string value, HttpContext context, StateSession session) =>
        {
            session.Set(key, value, ContractJsonContext.Default.String);
            foreach (var (letter, count) in Segments)
            {
                var span = context.Response.BodyWriter.GetSpan(count);
                span[..count].Fill((byte)letter);
                context.Response.BodyWriter.Advance(count);
            }

            return Task.CompletedTask;
        });
        app.MapPost("/advance-only/{key}/{value}", (string key, string value, HttpContext context, StateSession session) =>
        {
            session.Set(key, value, ContractJsonContext.Default.String);
            var text = "advanced"u8;
            text.CopyTo(context.Response.BodyWriter.GetSpan(text.Length));
            context.Response.BodyWriter.Advance(text.Length);
            return Task.CompletedTask;
        });
    }
}
