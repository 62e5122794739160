using System;
using System.Linq;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;
using StateKit.Sticky;

namespace StateKit.Benchmarks;

/// <summary>
/// Sticky churn: a node at its byte bound (1 MB) keeps taking new 1 KB sessions, each evicting the coldest one, with a
/// share of user-bound sessions that anonymous ones never evict. Per new session: time and allocation. The heap after
/// 40 MB of such churn is measured by <c>--memory</c> (Modes/MemoryReport), not by the unit tests.
/// </summary>
[MemoryDiagnoser]
public class StickyChurnBenchmarks
{
    private static readonly StickyKey Key = new() { Id = "k1", Secret = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray() };
    private readonly byte[] _payload = new byte[1024];
    private StickySessionStore _node = null!;

    /// <summary>Gets or sets the share of new sessions bound to a user, in percent.</summary>
    [Params(0, 10)]
    public int BoundPercent { get; set; }

    private int _created;

    [GlobalSetup]
    public void Setup()
    {
        _node = new StickySessionStore(Options());
        for (var i = 0; i < 2_000; i++)
        {
            CreateAsync().GetAwaiter().GetResult();
        }
    }

    [GlobalCleanup]
    public ValueTask Cleanup() => _node.DisposeAsync();

    /// <summary>One new session on a full node: created, its ticket signed, the coldest anonymous session evicted.</summary>
    [Benchmark]
    public Task<string?> NewSessionOnAFullNode() => CreateAsync();

    internal static StickySessionStoreOptions Options()
    {
        var options = new StickySessionStoreOptions { NodeId = "a", MaxSessions = 2_000, MaxBytes = 1024 * 1024, MaxPayloadBytes = 4096 };
        options.Keys.Add(Key);
        return options;
    }

    private async Task<string?> CreateAsync()
    {
        var session = new StateSession(_node, null);
        session.SetBytes("blob", _payload);
        if (BoundPercent > 0 && _created++ % (100 / BoundPercent) == 0)
        {
            session.BindUser("user-" + (_created % 50));
        }

        return (await session.CommitAsync().ConfigureAwait(false)).Ticket;
    }
}
