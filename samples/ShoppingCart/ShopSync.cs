using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using StateKit;
using StateKit.AspNetCore;
using StateKit.Tiering;

namespace ShoppingCart;

/// <summary>
/// The cart works offline: the page records adds and removes in IndexedDB and sends them to /statekit/sync when the
/// connection returns. Every change is a counter operation on the cart's SKU, so two devices' changes add up.
/// </summary>
internal static class ShopSync
{
    /// <summary>Maps the sync endpoint where the store can apply a batch atomically; returns whether it did.</summary>
    public static bool Map(WebApplication app)
    {
        // The stores that keep their state in the ticket (jwt, clientside) or overwrite the whole session (distributed)
        // cannot: there the page sends each click as before, and works online only.
        var store = app.Services.GetRequiredService<ISessionStore>();
        if (store.Capabilities.Concurrency != ConcurrencyGuarantee.CompareAndSet || store is ICompositeTicketStore)
        {
            return false;
        }

        // Counter operations never conflict, whatever the policy; LastWriterWins settles a whole-cart set or remove.
        app.MapStateKitSync("/statekit/sync", o => o.Keys["cart"] = SyncPolicy.LastWriterWins);
        return true;
    }
}
