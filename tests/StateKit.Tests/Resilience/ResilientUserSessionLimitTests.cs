using StateKit.Memory;
using StateKit.Resilience;
using StateKit.Testing;

namespace StateKit.Tests.Resilience;

/// <summary>Both limit policies through the circuit breaker over the in-memory store, with the circuit closed.</summary>
public sealed class ResilientUserSessionLimitTests : UserSessionLimitContract
{
    protected override ISessionStore CreateStore(UserSessionLimitPolicy policy) => new ResilientSessionStore(
        new InMemorySessionStore(new InMemorySessionStoreOptions { IdleTimeout = IdleTimeout, MaxSessionsPerUser = Limit, SessionLimitPolicy = policy }, Time),
        new ResilienceOptions { Name = "contract", Outage = OutagePolicy.FallbackWithJournal },
        timeProvider: Time);
}
