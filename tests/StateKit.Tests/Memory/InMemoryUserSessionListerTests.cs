using System.Threading.Tasks;
using StateKit.Memory;
using StateKit.Testing;

namespace StateKit.Tests.Memory;

public sealed class InMemoryUserSessionListerTests : UserSessionListerContract
{
    protected override ISessionStore CreateStore() => new InMemorySessionStore(
        new InMemorySessionStoreOptions { IdleTimeout = IdleTimeout, AbsoluteLifetime = AbsoluteLifetime },
        Time);

    protected override Task<int> IndexedCountAsync(string userId) => Task.FromResult(((InMemorySessionStore)Store).IndexedCountOf(userId));

    [Fact]
    public Task List_TenThousandSessionsOfOneUser_ComeInPagesOfAtMostTheMaxPageSize_AndAllAreListed()
        => AssertPagesThroughManySessionsAsync("many", 10_000, parallel: 100);
}
