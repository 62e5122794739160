using StateKit.Testing;

namespace StateKit.Jwt.Tests;

public sealed class JwtSessionStoreHs256ContractTests : SessionStoreContract
{
    protected override ISessionStore CreateStore() => new JwtSessionStore(JwtTestKeys.Options(JwtTestKeys.Hmac("h1")), Time);
}

public sealed class JwtSessionStoreEs256ContractTests : SessionStoreContract
{
    protected override ISessionStore CreateStore() => new JwtSessionStore(JwtTestKeys.Options(JwtTestKeys.EcDsa("e1")), Time);
}

/// <summary>With a deny list, so the revoke-by-id paths of the contract run too.</summary>
public sealed class JwtSessionStoreWithDenyListContractTests : SessionStoreContract
{
    protected override ISessionStore CreateStore()
    {
        var options = JwtTestKeys.Options(JwtTestKeys.Hmac("h1"));
        options.DenyList = JwtTestKeys.DenyList(Time);
        return new JwtSessionStore(options, Time);
    }
}
