using StateKit.Memory;
using StateKit.Testing;

namespace StateKit.Tests.Memory;

public sealed class InMemorySessionStoreContractTests : SessionStoreContract
{
    protected override ISessionStore CreateStore() => new InMemorySessionStore(
        new InMemorySessionStoreOptions
        {
            IdleTimeout = IdleTimeout,
            AbsoluteLifetime = AbsoluteLifetime,
            MaxPayloadBytes = MaxPayloadBytes,
        },
        Time);
}
