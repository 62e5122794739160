using System.Linq;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using StateKit.DependencyInjection;
using StateKit.Testing;

namespace StateKit.Tests.Diagnostics;

public sealed class TelemetryTests
{
    [Fact]
    public async Task RegisteredStore_RecordsLoadsCommitsConflictsAndBytes()
    {
        var services = new ServiceCollection();
        var name = System.Guid.NewGuid().ToString();
        services.AddStateKit(kit => kit.UseInMemory(o => o.Name = name));
        await using var provider = services.BuildServiceProvider();
        var store = provider.GetRequiredService<ISessionStore>();
        using var loads = new MetricCollector<long>(null, StateKitDiagnostics.MeterName, "statekit.session.loads");
        using var commits = new MetricCollector<long>(null, StateKitDiagnostics.MeterName, "statekit.session.commits");
        using var conflicts = new MetricCollector<long>(null, StateKitDiagnostics.MeterName, "statekit.session.conflicts");
        using var bytes = new MetricCollector<long>(null, StateKitDiagnostics.MeterName, "statekit.session.commit.bytes");
        using var durations = new MetricCollector<double>(null, StateKitDiagnostics.MeterName, "statekit.session.operation.duration");

        var session = store.Open(null);
        session.SetBytes("k", new byte[100]);
        var ticket = (await session.CommitAsync()).Ticket!;
        await store.LoadAsync(ticket);
        await store.LoadAsync("AAAAAAAAAAAAAAAAAAAAAA");
        var stale = await store.LoadAsync(ticket);
        var winner = store.Open(ticket);
        winner.SetBytes("k", new byte[1]);
        await winner.CommitAsync();
        await store.CommitAsync(new SessionCommit { Ticket = ticket, Base = stale, Mode = SessionCommitMode.RequireBaseVersion, Removals = ["k"] });

        // Other tests run in parallel on the same meter: look only at this store's own name.
        bool Mine(CollectedMeasurement<long> m) => Equals(m.Tags["statekit.store"], name);
        Assert.Contains(loads.GetMeasurementSnapshot(), m => Mine(m) && Equals(m.Tags["statekit.result"], "hit"));
        Assert.Contains(loads.GetMeasurementSnapshot(), m => Mine(m) && Equals(m.Tags["statekit.result"], "miss"));
        Assert.Contains(commits.GetMeasurementSnapshot(), m => Mine(m) && Equals(m.Tags["statekit.result"], "committed"));
        Assert.Contains(conflicts.GetMeasurementSnapshot(), Mine);
        Assert.Contains(bytes.GetMeasurementSnapshot(), m => Mine(m) && m.Value == 100);
        Assert.Contains(durations.GetMeasurementSnapshot(), m => Equals(m.Tags["statekit.store"], name) && Equals(m.Tags["statekit.operation"], "commit"));
    }
}
