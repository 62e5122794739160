using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.Options;

namespace StateKit.AspNetCore;

/// <summary>Refuses, at start-up, a ticket store over a store whose state travels to the client.</summary>
internal sealed class StateKitTicketStoreValidator : IValidateOptions<CookieAuthenticationOptions>
{
    public ValidateOptionsResult Validate(string? name, CookieAuthenticationOptions options)
    {
        if (options.SessionStore is not StateKitTicketStore tickets || tickets.Store.Capabilities.Location != StateLocation.Client)
        {
            return ValidateOptionsResult.Success;
        }

        var store = tickets.StoreName.Length == 0 ? "the default StateKit store" : $"StateKit store '{tickets.StoreName}'";
        return ValidateOptionsResult.Fail(
            $"UseStateKitTickets for cookie scheme '{name}' needs a store that keeps state on the server, but {store} keeps it in the client's ticket " +
            "(sealed client-side or JWT): the authentication ticket would travel back to the browser, and no sign-in could be revoked. " +
            "Use a server-held store for tickets, e.g. AddStateKit(kit => kit.UseClientSide(...).AddStore(\"auth\", s => s.UseRedis(...))) and UseStateKitTickets(\"auth\").");
    }
}
