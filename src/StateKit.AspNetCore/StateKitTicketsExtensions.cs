using System;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StateKit.DependencyInjection;

namespace StateKit.AspNetCore;

/// <summary>Puts cookie authentication's tickets in a StateKit store.</summary>
public static class StateKitTicketsExtensions
{
    /// <summary>
    /// Keeps the tickets of a cookie-authentication scheme in a server-held StateKit store
    /// (<see cref="CookieAuthenticationOptions.SessionStore"/>): the cookie carries a key, the ticket lives in a session bound
    /// to the user. Resolve <see cref="StateKitTicketStore"/> (keyed by the scheme's name, or plain for the first scheme) to
    /// sign a user out everywhere. The store must keep state on the server: a client-held store (sealed client-side, JWT)
    /// fails the app at start-up. A store that is down while a ticket is read answers the request like any StateKit store
    /// failure (<see cref="StateKitHttpOptions.CommitFailureStatusCode"/>, 503 by default), never as signed out.
    /// </summary>
    /// <param name="builder">The authentication builder, after <c>AddCookie</c>.</param>
    /// <param name="storeName">The StateKit store to use (registered with <c>AddStateKit</c>); empty for the default store.</param>
    /// <param name="authenticationScheme">The cookie scheme whose tickets move to the store.</param>
    /// <param name="configure">Changes to the defaults (the user id claim), or <see langword="null"/>.</param>
    /// <returns>The authentication builder.</returns>
    public static AuthenticationBuilder UseStateKitTickets(
        this AuthenticationBuilder builder,
        string storeName = SessionStores.DefaultName,
        string authenticationScheme = CookieAuthenticationDefaults.AuthenticationScheme,
        Action<StateKitTicketStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(storeName);
        ArgumentException.ThrowIfNullOrEmpty(authenticationScheme);
        var services = builder.Services;
        var options = services.AddOptions<StateKitTicketStoreOptions>(authenticationScheme);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.RemoveAllKeyed<StateKitTicketStore>(authenticationScheme);
        services.AddKeyedSingleton(authenticationScheme, (sp, _) =>
        {
            var settings = sp.GetRequiredService<IOptionsMonitor<StateKitTicketStoreOptions>>().Get(authenticationScheme);
            OptionsValidation.ThrowIfAny(typeof(StateKitTicketStoreOptions), settings.GetValidationErrors(), authenticationScheme);
            var stores = sp.GetService<SessionStores>() ?? throw new InvalidOperationException(
                $"UseStateKitTickets(\"{storeName}\") needs StateKit: call builder.Services.AddStateKit(kit => kit.UseRedis(...)) first.");
            return new StateKitTicketStore(
                stores.GetStore(storeName),
                storeName,
                settings.UserIdClaimType,
                sp.GetService<TimeProvider>(),
                sp.GetService<ILogger<StateKitTicketStore>>(),
                settings.SignInMetadata);
        });
        services.TryAddSingleton(sp => sp.GetRequiredKeyedService<StateKitTicketStore>(authenticationScheme));

        var cookie = services.AddOptions<CookieAuthenticationOptions>(authenticationScheme);
        cookie.PostConfigure<IServiceProvider>((o, sp) => o.SessionStore = sp.GetRequiredKeyedService<StateKitTicketStore>(authenticationScheme));

        // Validated when the host starts, not at the first request: a client-held store is a configuration error.
        cookie.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<CookieAuthenticationOptions>, StateKitTicketStoreValidator>());

        // Answers a store outage while the ticket is read with the 503 StateKit gives elsewhere, wherever UseAuthentication
        // sits: the scheme's handler becomes the cookie handler that also does that. After every Configure, so that
        // AddCookie may come before or after this call.
        services.PostConfigure<AuthenticationOptions>(o =>
        {
            if (o.SchemeMap.TryGetValue(authenticationScheme, out var scheme) && scheme.HandlerType == typeof(CookieAuthenticationHandler))
            {
                scheme.HandlerType = typeof(StateKitCookieAuthenticationHandler);
            }
        });
        return builder;
    }
}
