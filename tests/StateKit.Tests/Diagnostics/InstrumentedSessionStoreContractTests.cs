using StateKit.Diagnostics;
using StateKit.Testing;

namespace StateKit.Tests.Diagnostics;

/// <summary>The shared contract through the instrumented store (metrics and activities) over an in-memory store.</summary>
public sealed class InstrumentedSessionStoreContractTests : SessionStoreContract
{
    protected override ISessionStore CreateStore() => new InstrumentedSessionStore(CreateInMemoryStore(), "contract");

    protected override ISessionStore? DecorateClientHeld(ISessionStore clientHeld) => new InstrumentedSessionStore(clientHeld, "contract");
}
