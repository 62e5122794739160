using System;
using System.Linq;
using StateKit.Caching;
using StateKit.Sticky;

namespace StateKit.AspNetCore.Tests;

/// <summary>The ticket store on the sticky store: the key in the cookie is a signed sticky ticket, not a bare id.</summary>
public sealed class StateKitTicketStoreStickyTests : StateKitTicketStoreContract
{
    protected override ISessionStore CreateStore(TimeProvider time)
    {
        var options = new StickySessionStoreOptions { NodeId = "node-a", IdleTimeout = IdleTimeout, AbsoluteLifetime = AbsoluteLifetime };
        options.Keys.Add(new StickyKey { Id = "k1", Secret = Enumerable.Range(0, 32).Select(i => (byte)(i + 1)).ToArray() });
        
        // One node, but "sign out everywhere" on a sticky store needs the bus that would reach the others.
        return new StickySessionStore(options, backup: null, time, bus: new InMemorySessionInvalidationBus());
    }
}
