using System;
using System.Linq;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace StateKit.DependencyInjection;

/// <summary>Registers StateKit in a service collection.</summary>
public static class StateKitServiceCollectionExtensions
{
    /// <summary>
    /// Registers an <see cref="ISessionStore"/> chosen by <paramref name="configure"/>; without a choice, the in-memory store.
    /// Options are validated at start-up; every store is instrumented under <see cref="StateKitDiagnostics.MeterName"/>.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Chooses and configures the store, e.g. <c>kit =&gt; kit.UseInMemory()</c>.</param>
    /// <returns>The builder, for packages that add to it.</returns>
    public static StateKitBuilder AddStateKit(this IServiceCollection services, Action<StateKitBuilder>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new SessionStores(sp, sp.GetServices<SessionStores.StoreNameRegistration>()));
        var builder = new StateKitBuilder(services, SessionStores.DefaultName);
        if (configure is not null)
        {
            configure(builder);
        }

        if (!services.Any(d => d.ServiceType == typeof(ISessionStore)))
        {
            builder.UseInMemory();
        }

        return builder;
    }
}
