using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using StateKit.ClientSide;
using StateKit.Distributed;
using StateKit.Testing;
using StateKit.Tests.Distributed;

namespace StateKit.Tests.ClientSide;

/// <summary>The contract, without a deny list: no revocation, as the capabilities say.</summary>
public sealed class ClientSideSessionStoreContractTests : SessionStoreContract
{
    protected override ISessionStore CreateStore() => new ClientSideSessionStore(ClientSideTestKeys.ContractOptions(), Time);
}

/// <summary>The contract with a deny list over a distributed cache on the test clock, so the revoke-by-id paths run too.</summary>
public sealed class ClientSideSessionStoreWithDenyListContractTests : SessionStoreContract
{
    protected override ISessionStore CreateStore()
    {
        var options = ClientSideTestKeys.ContractOptions();
        options.DenyList = new DistributedCacheSessionDenyList(
            new MemoryDistributedCache(Options.Create(new MemoryDistributedCacheOptions { Clock = new FakeTimeSystemClock(Time) })));
        return new ClientSideSessionStore(options, Time);
    }
}
