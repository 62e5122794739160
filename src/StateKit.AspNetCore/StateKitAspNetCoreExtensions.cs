using System;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using StateKit.DependencyInjection;

namespace StateKit.AspNetCore;

/// <summary>Registers and mounts StateKit in an ASP.NET Core app.</summary>
public static class StateKitAspNetCoreExtensions
{
    /// <summary>
    /// Lets requests reach their sessions: <see cref="StateSession"/> becomes injectable into handlers and controllers
    /// (<c>[FromKeyedServices("name")]</c> for a named store), and the ticket transport is configured.
    /// </summary>
    /// <param name="builder">The StateKit builder.</param>
    /// <param name="configure">Changes to the transport's defaults (HttpOnly, Secure outside Development, SameSite=Lax cookies), or <see langword="null"/>.</param>
    /// <returns>The builder.</returns>
    public static StateKitBuilder AddHttp(this StateKitBuilder builder, Action<StateKitHttpOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var options = services.AddOptions<StateKitHttpOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<StateKitHttpOptions>, StateKitHttpOptionsValidator>());
        services.AddHttpContextAccessor();
        services.TryAddSingleton<StateKitHttpRuntime>();
        services.TryAddScoped(sp => CurrentContext(sp).GetStateSession());
        services.TryAddKeyedScoped(KeyedService.AnyKey, (sp, key) => CurrentContext(sp).GetStateSession(key as string ?? SessionStores.DefaultName));
        return builder;
    }

    /// <summary>
    /// Adds the StateKit middleware: each request gets lazy sessions, which commit after the handler and before the
    /// response starts. Place it after routing (so endpoints can opt out) and before the endpoints that use state.
    /// Replaces <c>UseSession()</c>: <c>HttpContext.Session</c> then runs on the default store.
    /// </summary>
    /// <param name="app">The application.</param>
    /// <returns>The application.</returns>
    /// <exception cref="InvalidOperationException">StateKit is not registered.</exception>
    public static IApplicationBuilder UseStateKit(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (app.ApplicationServices.GetService<SessionStores>() is null || app.ApplicationServices.GetService<StateKitHttpRuntime>() is null)
        {
            throw new InvalidOperationException(
                "StateKit is not registered. Call builder.Services.AddStateKit(kit => kit.UseInMemory().AddHttp()) before app.UseStateKit().");
        }

        return app.UseMiddleware<StateKitMiddleware>();
    }

    /// <summary>Keeps StateKit away from these endpoints: no ticket read, no session, the response body untouched.</summary>
    /// <typeparam name="TBuilder">The endpoint convention builder.</typeparam>
    /// <param name="builder">The endpoint(s).</param>
    /// <returns>The builder.</returns>
    public static TBuilder DisableStateKit<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Add(endpoint => endpoint.Metadata.Add(new DisableStateKitAttribute()));
        return builder;
    }

    /// <summary>
    /// Buffers the whole response body of these endpoints and commits their sessions after the handler, so that they may
    /// change a session after writing. Costs a copy of the body (and a temp file past 32 KB); streaming endpoints must not use it.
    /// </summary>
    /// <typeparam name="TBuilder">The endpoint convention builder.</typeparam>
    /// <param name="builder">The endpoint(s).</param>
    /// <returns>The builder.</returns>
    public static TBuilder BufferStateKitResponse<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Add(endpoint => endpoint.Metadata.Add(new BufferStateKitResponseAttribute()));
        return builder;
    }

    private static HttpContext CurrentContext(IServiceProvider services)
        => services.GetRequiredService<IHttpContextAccessor>().HttpContext
            ?? throw new InvalidOperationException("A StateSession can only be resolved inside an HTTP request.");
}
