using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;
using StateKit.Benchmarks.Infrastructure;

namespace StateKit.Benchmarks;

/// <summary>
/// Issue 15: one session-touching request through StateKit's middleware (in-memory store, load + change + commit), its
/// body buffered until after the commit (the behaviour before, now <c>BufferResponseBody</c>) against streamed after a
/// commit at the first write (the default now). Past 32 KB the buffered body spills to a temp file.
/// </summary>
[MemoryDiagnoser]
public class ResponseBodyBenchmarks
{
    private MiddlewarePipeline _buffered = null!;
    private MiddlewarePipeline _streaming = null!;

    [Params(1024, 65536, 1048576)]
    public int BodyBytes { get; set; }

    /// <summary>Gets or sets how the handler writes: <c>stream</c> (16 KB chunks to <c>Response.Body</c>) or <c>json</c> (<c>WriteAsJsonAsync</c>, through the pipe writer).</summary>
    [Params("stream", "json")]
    public string Writer { get; set; } = "stream";

    [GlobalSetup]
    public void Setup()
    {
        var json = Writer == "json";
        _buffered = MiddlewarePipeline.StartAsync(buffered: true, BodyBytes, json: json).GetAwaiter().GetResult();
        _streaming = MiddlewarePipeline.StartAsync(buffered: false, BodyBytes, json: json).GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _buffered.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _streaming.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    [Benchmark(Baseline = true)]
    public Task<long> BufferedBody() => _buffered.RequestAsync();

    [Benchmark]
    public Task<long> StreamedBody() => _streaming.RequestAsync();
}
