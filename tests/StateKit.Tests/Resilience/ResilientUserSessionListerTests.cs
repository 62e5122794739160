using System;
using System.Threading.Tasks;
using StateKit.Memory;
using StateKit.Resilience;
using StateKit.Testing;

namespace StateKit.Tests.Resilience;

/// <summary>The listing contract through the circuit breaker over the in-memory store, with the circuit closed.</summary>
public sealed class ResilientUserSessionListerTests : UserSessionListerContract, IDisposable
{
    private InMemorySessionStore? _inner;

    public void Dispose() => (Store as IDisposable)?.Dispose();

    protected override ISessionStore CreateStore()
    {
        _inner = new InMemorySessionStore(new InMemorySessionStoreOptions { IdleTimeout = IdleTimeout, AbsoluteLifetime = AbsoluteLifetime }, Time);
        return new ResilientSessionStore(_inner, new ResilienceOptions { Name = "contract", Outage = OutagePolicy.FallbackWithJournal }, timeProvider: Time);
    }

    protected override Task<int> IndexedCountAsync(string userId) => Task.FromResult(_inner!.IndexedCountOf(userId));
}
