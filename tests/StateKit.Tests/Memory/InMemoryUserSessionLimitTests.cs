using Microsoft.Extensions.Options;
using StateKit.Memory;
using StateKit.Testing;

namespace StateKit.Tests.Memory;

public sealed class InMemoryUserSessionLimitTests : UserSessionLimitContract
{
    [Fact]
    public void Options_NegativeLimit_FailsValidationWithTheFix()
    {
        var e = Assert.Throws<OptionsValidationException>(() => new InMemorySessionStore(new InMemorySessionStoreOptions { MaxSessionsPerUser = -1 }));
        Assert.Contains("MaxSessionsPerUser must be 0 (no limit) or positive", e.Message, System.StringComparison.Ordinal);
    }

    protected override ISessionStore CreateStore(UserSessionLimitPolicy policy) => new InMemorySessionStore(
        new InMemorySessionStoreOptions { IdleTimeout = IdleTimeout, MaxSessionsPerUser = Limit, SessionLimitPolicy = policy },
        Time);
}
