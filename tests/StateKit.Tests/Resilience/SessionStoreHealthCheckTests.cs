using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Time.Testing;
using StateKit.Memory;
using StateKit.Resilience;
using StateKit.Testing;
using StateKit.Tiering;

namespace StateKit.Tests.Resilience;

public sealed class SessionStoreHealthCheckTests
{
    private readonly FakeTimeProvider _time = new();

    private static Task<HealthCheckResult> CheckAsync(ISessionStore store)
        => new SessionStoreHealthCheck(store).CheckHealthAsync(new HealthCheckContext());

    [Fact]
    public async Task PlainStore_IsProbed_UnhealthyWhenDown()
    {
        var chaos = new ChaosSessionStore(new InMemorySessionStore(new InMemorySessionStoreOptions(), _time), _time);
        Assert.Equal(HealthStatus.Healthy, (await CheckAsync(chaos)).Status);

        chaos.Fail();

        Assert.Equal(HealthStatus.Unhealthy, (await CheckAsync(chaos)).Status);
    }

    [Fact]
    public async Task TieredStoreWithBreaker_ReportsTheWorstTierWithoutProbingAnOpenCircuit()
    {
        var chaos = new ChaosSessionStore(new InMemorySessionStore(new InMemorySessionStoreOptions(), _time), _time);
        var options = new ResilienceOptions { Name = "standard", Outage = OutagePolicy.FallbackWithJournal };
        using var standard = new ResilientSessionStore(chaos, options, timeProvider: _time);
        var tiered = new TieredSessionStore(
            new Dictionary<string, ISessionStore> { ["standard"] = standard, ["prefs"] = new InMemorySessionStore(new InMemorySessionStoreOptions(), _time) },
            new TieredSessionStoreOptions { DefaultTier = "standard" });
        Assert.Equal(HealthStatus.Healthy, (await CheckAsync(tiered)).Status);

        standard.CircuitBreaker.Isolate();
        var calls = chaos.Calls;
        var result = await CheckAsync(tiered);

        Assert.Equal(HealthStatus.Unhealthy, result.Status);
        Assert.Equal("Isolated", result.Data["standard.circuit"]);
        Assert.Equal(calls, chaos.Calls);
    }
}
