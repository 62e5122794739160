using System.Text.Encodings.Web;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace StateKit.AspNetCore;

/// <summary>
/// ASP.NET Core's cookie handler, unchanged, plus one step before the request reaches the app: when its scheme is the
/// default, it reads the ticket first, and a store that is down answers the request with StateKit's failure response
/// (503 by default) instead of an exception the app's error page turns into a 500. WebApplication mounts
/// <c>UseAuthentication</c> ahead of the app's own middleware, so StateKit's middleware cannot catch it there.
/// </summary>
internal sealed class StateKitCookieAuthenticationHandler(
    IOptionsMonitor<CookieAuthenticationOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IAuthenticationSchemeProvider schemes)
    : CookieAuthenticationHandler(options, logger, encoder), IAuthenticationRequestHandler
{
    public async Task<bool> HandleRequestAsync()
    {
        if (Options.SessionStore is not StateKitTicketStore tickets || (await schemes.GetDefaultAuthenticateSchemeAsync().ConfigureAwait(false))?.Name != Scheme.Name)
        {
            return false;
        }

        try
        {
            // The handler keeps the result, so the authentication that follows costs no second load.
            await AuthenticateAsync().ConfigureAwait(false);
            return false;
        }
        catch (SessionStoreUnavailableException e) when (!Response.HasStarted)
        {
            var http = Context.RequestServices.GetRequiredService<IOptions<StateKitHttpOptions>>().Value;
            Log.TicketLoadFailed(Logger, tickets.StoreName, http.CommitFailureStatusCode, e);
            await StoreFailureResponse.WriteAsync(Context, http, e, loading: true).ConfigureAwait(false);
            return true;
        }
    }
}
