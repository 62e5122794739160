using System;
using System.Linq;
using Microsoft.Extensions.DependencyInjection;

namespace StateKit.DependencyInjection;

/// <summary>Replaces the store a builder registered with a decorator over it (a circuit breaker, a near cache).</summary>
internal static class StoreDecorator
{
    /// <summary>Wraps the store registered under <paramref name="builder"/>'s name, keyed or not.</summary>
    /// <param name="builder">The builder of the store to wrap.</param>
    /// <param name="method">The builder method, for the error message.</param>
    /// <param name="wrap">Builds the decorator over the store.</param>
    /// <exception cref="InvalidOperationException">No store is registered under this builder's name yet.</exception>
    public static void Decorate(StateKitBuilder builder, string method, Func<IServiceProvider, ISessionStore, ISessionStore> wrap)
    {
        var services = builder.Services;
        var name = builder.StoreName;
        var keyed = name.Length != 0;
        var descriptor = services.LastOrDefault(d => d.ServiceType == typeof(ISessionStore) && (keyed ? Equals(d.ServiceKey, name) : !d.IsKeyedService))
            ?? throw new InvalidOperationException($"{method} wraps the store chosen before it: call UseInMemory, UseDistributedCache or another UseXxx on this builder first (store '{name}').");
        services.Remove(descriptor);
        if (keyed)
        {
            var factory = descriptor.KeyedImplementationFactory!;
            services.AddKeyedSingleton<ISessionStore>(name, (sp, key) => wrap(sp, (ISessionStore)factory(sp, key)));
        }
        else
        {
            var factory = descriptor.ImplementationFactory!;
            services.AddSingleton<ISessionStore>(sp => wrap(sp, (ISessionStore)factory(sp)));
        }
    }
}
