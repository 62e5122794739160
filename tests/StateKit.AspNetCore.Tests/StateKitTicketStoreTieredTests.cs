using System;
using System.Collections.Generic;
using StateKit.Memory;
using StateKit.Tiering;

namespace StateKit.AspNetCore.Tests;

/// <summary>The ticket store on a tiered store of two server-held tiers: the ticket lives in the default tier.</summary>
public sealed class StateKitTicketStoreTieredTests : StateKitTicketStoreContract
{
    protected override ISessionStore CreateStore(TimeProvider time)
    {
        ISessionStore Tier() => new InMemorySessionStore(new InMemorySessionStoreOptions { IdleTimeout = IdleTimeout, AbsoluteLifetime = AbsoluteLifetime }, time);
        return new TieredSessionStore(
            new Dictionary<string, ISessionStore> { ["critical"] = Tier(), ["prefs"] = Tier() },
            new TieredSessionStoreOptions { DefaultTier = "critical" });
    }
}
