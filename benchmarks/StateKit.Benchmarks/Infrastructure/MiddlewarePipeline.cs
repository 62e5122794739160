using System;
using System.Diagnostics;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using StateKit.AspNetCore;
using StateKit.DependencyInjection;
using StateKit.Testing;

namespace StateKit.Benchmarks.Infrastructure;

/// <summary>
/// StateKit's middleware over the in-memory store, driven in-process with no server: each request loads the session,
/// changes a key (so it commits), then writes a body of <c>bodyBytes</c>: in 16 KB chunks to the body stream, flushing
/// after the first, or with <c>json</c> as a JSON string through <c>WriteAsJsonAsync</c>, which writes to the body's pipe
/// writer (<c>GetMemory</c>/<c>Advance</c>), as minimal APIs and MVC answer. With
/// <c>buffered</c> the body is held until after the handler and the commit (<c>BufferResponseBody</c>, the only behaviour
/// before issue 15); without it the commit happens at the first write and the body streams.
/// </summary>
public sealed class MiddlewarePipeline : IAsyncDisposable
{
    private const int ChunkBytes = 16 * 1024;
    private readonly ServiceProvider _services;
    private readonly RequestDelegate _pipeline;
    private readonly byte[] _chunk;
    private readonly int _bodyBytes;
    private readonly TimeSpan _pause;
    private readonly string? _json;
    private string _cookie = string.Empty;

    private MiddlewarePipeline(bool buffered, int bodyBytes, TimeSpan pause, bool json)
    {
        _bodyBytes = bodyBytes;
        _pause = pause;
        _json = json ? new string('x', Math.Max(bodyBytes - 2, 0)) : null;
        _chunk = new byte[Math.Min(ChunkBytes, Math.Max(bodyBytes, 1))];
        Random.Shared.NextBytes(_chunk);
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddStateKit(kit => kit
            .UseInMemory()
            .ConfigureJson(o => o.TypeInfoResolverChain.Insert(0, ContractJsonContext.Default))
            .AddHttp(o => o.BufferResponseBody = buffered));
        _services = services.BuildServiceProvider();
        var app = new ApplicationBuilder(_services);
        app.UseStateKit();
        app.Run(HandleAsync);
        _pipeline = app.Build();
    }

    /// <summary>Builds the pipeline and gives it a session to come back to.</summary>
    public static async Task<MiddlewarePipeline> StartAsync(bool buffered, int bodyBytes, TimeSpan pause = default, bool json = false)
    {
        var pipeline = new MiddlewarePipeline(buffered, bodyBytes, pause, json);
        var first = pipeline.NewContext(new FirstByteStream());
        await pipeline._pipeline(first);
        var setCookie = first.Response.Headers.SetCookie.ToString();
        pipeline._cookie = setCookie[..setCookie.IndexOf(';', StringComparison.Ordinal)];
        return pipeline;
    }

    /// <summary>One request; returns the bytes that reached the server's body.</summary>
    public async Task<long> RequestAsync()
    {
        var body = new FirstByteStream();
        await _pipeline(NewContext(body));
        return body.Written;
    }

    /// <summary>One request; returns the time from its start to its first byte at the server, and to its end.</summary>
    public async Task<(TimeSpan FirstByte, TimeSpan Total)> TimeRequestAsync()
    {
        var body = new FirstByteStream();
        var started = Stopwatch.GetTimestamp();
        await _pipeline(NewContext(body));
        var ended = Stopwatch.GetTimestamp();
        return (Stopwatch.GetElapsedTime(started, body.FirstWriteAt), Stopwatch.GetElapsedTime(started, ended));
    }

    public ValueTask DisposeAsync() => _services.DisposeAsync();

    private DefaultHttpContext NewContext(Stream body)
    {
        var context = new DefaultHttpContext { RequestServices = _services };
        context.Request.Method = HttpMethods.Post;
        context.Request.Scheme = "https";
        context.Request.Path = "/work";
        if (_cookie.Length > 0)
        {
            context.Request.Headers.Cookie = _cookie;
        }

        context.Features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(body));
        return context;
    }

    private async Task HandleAsync(HttpContext context)
    {
        var session = context.GetStateSession();
        var visits = await session.GetAsync("visits", ContractJsonContext.Default.Int32);
        session.Set("visits", visits + 1, ContractJsonContext.Default.Int32);
        if (_json is not null)
        {
            await context.Response.WriteAsJsonAsync(_json, ContractJsonContext.Default.String);
            return;
        }

        for (var sent = 0; sent < _bodyBytes; sent += _chunk.Length)
        {
            await context.Response.Body.WriteAsync(_chunk.AsMemory(0, Math.Min(_chunk.Length, _bodyBytes - sent)));
            if (sent == 0)
            {
                await context.Response.Body.FlushAsync();
                if (_pause > TimeSpan.Zero)
                {
                    // A server-sent event stream's gap between events.
                    await Task.Delay(_pause, TimeProvider.System);
                }
            }
        }
    }

    /// <summary>The server's side of the body: counts bytes and notes when the first one arrived.</summary>
    private sealed class FirstByteStream : Stream
    {
        public long Written { get; private set; }

        public long FirstWriteAt { get; private set; }

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => Written;

        public override long Position
        {
            get => Written;
            set => throw new NotSupportedException();
        }

        public override void Flush()
        {
        }

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (Written == 0 && buffer.Length > 0)
            {
                FirstWriteAt = Stopwatch.GetTimestamp();
            }

            Written += buffer.Length;
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            Write(buffer.AsSpan(offset, count));
            return Task.CompletedTask;
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Write(buffer.Span);
            return ValueTask.CompletedTask;
        }
    }
}
