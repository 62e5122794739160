using System;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StateKit.DependencyInjection;

namespace StateKit.Jwt;

/// <summary>Registers <see cref="JwtSessionStore"/> with StateKit.</summary>
public static class JwtStateKitBuilderExtensions
{
    /// <summary>
    /// Keeps each session in the claims of a signed JWT the client carries (<see cref="JwtSessionStore"/>).
    /// Issuer, audience and at least one signing key must be set, or the application fails at start-up.
    /// </summary>
    /// <param name="builder">The StateKit builder.</param>
    /// <param name="configure">Sets issuer, audience, keys and limits.</param>
    /// <returns>The builder.</returns>
    public static StateKitBuilder UseJwt(this StateKitBuilder builder, Action<JwtSessionStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        return builder.UseStore<JwtSessionStoreOptions>(
            JwtSessionStore.Kind,
            configure,
            (sp, options) => new JwtSessionStore(options, sp.GetService<TimeProvider>(), sp.GetService<ILogger<JwtSessionStore>>()));
    }
}
