using System;
using System.Globalization;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Session;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StateKit.Memory;

namespace StateKit.Benchmarks.Modes;

/// <summary>
/// <c>--memory</c>: managed bytes per live session at 100,000 sessions of one 128-byte key, in StateKit's in-memory store and
/// in ASP.NET Core session over MemoryDistributedCache (GC.GetTotalMemory after forced full collections, before and after).
/// </summary>
public static class MemoryReport
{
    private const int Sessions = 100_000;
    private const int ValueBytes = 128;

    public static async Task<int> RunAsync()
    {
        var value = new byte[ValueBytes];
        Random.Shared.NextBytes(value);
        Console.WriteLine($"{Sessions:N0} live sessions, each holding one key \"cart\" of {ValueBytes} bytes.");
        Console.WriteLine();
        Console.WriteLine("| store | bytes per session | of which overhead (beyond the 132 B of key + value) |");
        Console.WriteLine("|---|---:|---:|");

        var before = Measure();
        var store = new InMemorySessionStore(new InMemorySessionStoreOptions { MaxSessions = Sessions * 2, MaxBytes = long.MaxValue / 2 });
        for (var i = 0; i < Sessions; i++)
        {
            var session = new StateSession(store, null);
            session.SetBytes("cart", value);
            await session.CommitAsync();
        }

        var after = Measure();
        Row("StateKit in-memory store", (after - before) / (double)Sessions);
        if (store.Count != Sessions)
        {
            throw new InvalidOperationException($"Expected {Sessions} sessions, found {store.Count}.");
        }

        GC.KeepAlive(store);
        store = null;

        before = Measure();
        var cache = new MemoryDistributedCache(Options.Create(new MemoryDistributedCacheOptions { SizeLimit = null }));
        var sessions = new DistributedSessionStore(cache, NullLoggerFactory.Instance);
        for (var i = 0; i < Sessions; i++)
        {
            var session = sessions.Create(Guid.NewGuid().ToString(), TimeSpan.FromMinutes(20), TimeSpan.FromSeconds(10), () => true, isNewSessionKey: true);
            session.Set("cart", value);
            await session.CommitAsync();
        }

        after = Measure();
        Row("ASP.NET Core session over MemoryDistributedCache", (after - before) / (double)Sessions);
        GC.KeepAlive(cache);
        cache = null;
        sessions = null;
        await StickyChurnAsync();
        return 0;
    }

    // The heap side of StickySessionStoreTests.Churn (which asserts only what the store accounts): 40 MB of 1 KB sessions
    // through a node bounded at 1 MB. What the heap holds afterwards is the node's sessions plus its bounded side tables.
    private static async Task StickyChurnAsync()
    {
        const int churned = 40_000;
        var payload = new byte[1024];
        Console.WriteLine();
        Console.WriteLine($"Sticky churn: {churned:N0} sessions of 1 KB through a node bounded at 1 MB (MaxBytes) and 2,000 sessions.");
        Console.WriteLine();
        Console.WriteLine("| sticky node | heap growth | charged bytes | sessions held |");
        Console.WriteLine("|---|---:|---:|---:|");
        var before = Measure();
        var node = new Sticky.StickySessionStore(StickyChurnBenchmarks.Options());
        for (var i = 0; i < churned; i++)
        {
            var session = new StateSession(node, null);
            session.SetBytes("blob", payload);
            await session.CommitAsync();
        }

        var after = Measure();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| after {churned:N0} new sessions | {(after - before) / 1024.0:N0} KiB | {node.Bytes / 1024.0:N0} KiB | {node.Count:N0} |"));
        await node.DisposeAsync();
    }

    private static long Measure()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private static void Row(string name, double perSession)
        => Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {perSession:N0} | {perSession - ValueBytes - 4:N0} |"));
}
