using StateKit.Resilience;
using StateKit.Testing;

namespace StateKit.Tests.Resilience;

/// <summary>The shared contract through the resilient store over an in-memory primary, with the circuit closed.</summary>
public sealed class ResilientSessionStoreContractTests : SessionStoreContract
{
    protected override ISessionStore CreateStore() => Decorate(CreateInMemoryStore());

    protected override ISessionStore? DecorateClientHeld(ISessionStore clientHeld) => Decorate(clientHeld);

    private ResilientSessionStore Decorate(ISessionStore primary)
        => new(primary, new ResilienceOptions { Name = "contract", Outage = OutagePolicy.FallbackWithJournal }, timeProvider: Time);
}
