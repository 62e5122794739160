using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using System.Text.Json.Serialization;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using StateKit.AspNetCore;
using StateKit.Memory;

namespace StateKit.Benchmarks;

/// <summary>
/// What offline sync costs on top of a plain commit: a batch of 10 counter adds on one cart (10 SKUs) applied by the
/// sync endpoint's engine, against the same 10 changes made by a handler with a plain <see cref="StateSession"/>
/// (load, read the cart, change it, set it, commit). Both on the in-memory store, so the difference is the sync layer:
/// per-operation JSON merges, the version ledger and its record of answered operation ids (full, 256 answers, after warm-up),
/// and the compare-and-set commit. Parsing the request body is timed on its own.
/// </summary>
[MemoryDiagnoser]
public class SyncBatchBenchmarks
{
    private static readonly string[] Skus = ["tea", "mug", "kettle", "beans", "cup", "filter", "scale", "grinder", "tin", "spoon"];

    private readonly StateKitSyncOptions _options = new() { Keys = { ["cart"] = SyncPolicy.LastWriterWins } };
    private InMemorySessionStore _store = null!;
    private SyncEngine _engine = null!;
    private string _ticket = null!;
    private byte[] _body = null!;
    private long _next;

    [GlobalSetup]
    public void Setup()
    {
        _store = new InMemorySessionStore(new InMemorySessionStoreOptions());
        _engine = new SyncEngine(_options, TimeProvider.System, NullLogger.Instance);
        var session = new StateSession(_store, null);
        session.Set("cart", new Dictionary<string, int> { ["tea"] = 1 }, SyncBenchmarkJson.Default.DictionaryStringInt32);
        _ticket = session.CommitAsync().AsTask().GetAwaiter().GetResult().Ticket!;

        var json = new StringBuilder("{\"operations\":[");
        for (var i = 0; i < Skus.Length; i++)
        {
            json.Append(i == 0 ? string.Empty : ",").Append(CultureInfo.InvariantCulture, $"{{\"id\":\"0b6f2a8e-5d1c-4c8e-9f3a-{i:D12}\",\"key\":\"cart\",\"op\":\"add\",\"field\":\"{Skus[i]}\",\"by\":1,\"baseVersion\":7,\"at\":1764493200000}}");
        }

        _body = Encoding.UTF8.GetBytes(json.Append("]}").ToString());
    }

    [Benchmark(Baseline = true, Description = "plain StateSession: 10 changes, one commit")]
    public async Task<long> PlainSessionCommit()
    {
        var session = new StateSession(_store, _ticket);
        var cart = await session.GetAsync("cart", SyncBenchmarkJson.Default.DictionaryStringInt32).ConfigureAwait(false) ?? [];
        foreach (var sku in Skus)
        {
            cart[sku] = cart.GetValueOrDefault(sku) + 1;
        }

        session.Set("cart", cart, SyncBenchmarkJson.Default.DictionaryStringInt32);
        return (await session.CommitAsync().ConfigureAwait(false)).Version;
    }

    [Benchmark(Description = "sync batch: 10 counter adds, one compare-and-set")]
    public async Task<int> SyncBatchApply()
    {
        // Fresh operation ids each time, as a client's next batch has: a repeated id would be answered from the record.
        var operations = new SyncOperation[Skus.Length];
        var batch = _next++;
        for (var i = 0; i < operations.Length; i++)
        {
            operations[i] = new SyncOperation(string.Create(CultureInfo.InvariantCulture, $"b{batch}-{i}"), "cart", SyncOperationKind.Add, 7) { Field = Skus[i], By = 1 };
        }

        var result = await _engine.ApplyAsync(new StateSession(_store, _ticket), new SyncBatch(operations, []), default).ConfigureAwait(false);
        return result.Answers.Count;
    }

    [Benchmark(Description = "sync batch: parse and validate the 10-op body")]
    public int SyncBatchParse()
    {
        var errors = new List<SyncBatchError>();
        return SyncBatchReader.Read(_body, _options, errors)!.Operations.Count;
    }
}

[JsonSerializable(typeof(Dictionary<string, int>))]
internal sealed partial class SyncBenchmarkJson : JsonSerializerContext;
