using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StateKit.Resilience;
using StateKit.Tiering;

namespace StateKit.DependencyInjection;

/// <summary>Tiers and circuit breakers on <see cref="StateKitBuilder"/>.</summary>
/// <example>
/// <code>
/// services.AddStateKit(kit => kit
///     .AddTier("critical", t => t.UseInMemory().WithCircuitBreaker(b => b.Outage = OutagePolicy.FailFast))
///     .AddTier("standard", t => t.UseDistributedCache().WithCircuitBreaker(b => b.Outage = OutagePolicy.FallbackWithJournal))
///     .MapKey("cart", "critical")
///     .WithDefaultTier("standard"));
/// </code>
/// </example>
public static class StateKitBuilderResilienceExtensions
{
    /// <summary>
    /// Adds a tier: a named store (resolvable like any <see cref="StateKitBuilder.AddStore"/>) whose keys the default
    /// store, now a <see cref="TieredSessionStore"/>, routes to it. The first tier added is the default tier unless
    /// <see cref="WithDefaultTier"/> says otherwise.
    /// </summary>
    /// <param name="builder">The default store's builder.</param>
    /// <param name="name">The tier's name: letters, digits, '-' and '_'.</param>
    /// <param name="configure">Chooses and configures the tier's store.</param>
    /// <returns>The builder.</returns>
    public static StateKitBuilder AddTier(this StateKitBuilder builder, string name, Action<StateKitBuilder> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddStore(name, configure);
        var services = builder.Services;
        if (!services.Any(d => d.ServiceType == typeof(TierRegistration)))
        {
            services.RemoveAll<ISessionStore>();
            services.AddSingleton<ISessionStore>(sp =>
            {
                var options = sp.GetRequiredService<IOptions<TieredSessionStoreOptions>>().Value;
                var stores = sp.GetRequiredService<SessionStores>();
                var tiers = sp.GetServices<TierRegistration>().ToDictionary(t => t.Name, t => stores.GetStore(t.Name), StringComparer.Ordinal);
                return new TieredSessionStore(tiers, options);
            });
            services.AddOptions<TieredSessionStoreOptions>().ValidateOnStart();
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TieredSessionStoreOptions>, TieringValidator>());
            services.Configure<TieredSessionStoreOptions>(o => o.DefaultTier ??= name);
        }

        services.AddSingleton(new TierRegistration(name));
        return builder;
    }

    /// <summary>Puts a session key in a tier.</summary>
    /// <param name="builder">The default store's builder.</param>
    /// <param name="key">The key.</param>
    /// <param name="tier">The tier's name.</param>
    /// <returns>The builder.</returns>
    public static StateKitBuilder MapKey(this StateKitBuilder builder, string key, string tier)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Configure<TieredSessionStoreOptions>(o => o.MapKey(key, tier));
        return builder;
    }

    /// <summary>Puts every key starting with a prefix in a tier; the longest matching prefix wins, an exact key beats any prefix.</summary>
    /// <param name="builder">The default store's builder.</param>
    /// <param name="prefix">The key prefix.</param>
    /// <param name="tier">The tier's name.</param>
    /// <returns>The builder.</returns>
    public static StateKitBuilder MapKeyPrefix(this StateKitBuilder builder, string prefix, string tier)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Configure<TieredSessionStoreOptions>(o => o.MapPrefix(prefix, tier));
        return builder;
    }

    /// <summary>Chooses the tier of every key no mapping names.</summary>
    /// <param name="builder">The default store's builder.</param>
    /// <param name="tier">The tier's name.</param>
    /// <returns>The builder.</returns>
    public static StateKitBuilder WithDefaultTier(this StateKitBuilder builder, string tier)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.PostConfigure<TieredSessionStoreOptions>(o => o.DefaultTier = tier);
        return builder;
    }

    /// <summary>
    /// Guards the store this builder configured (call it after <c>UseXxx</c>) with a timeout, a concurrency limit and a
    /// circuit breaker, and sets what it does during an outage. Options are validated at start-up.
    /// </summary>
    /// <param name="builder">The builder of the store to guard.</param>
    /// <param name="configure">Changes to the default <see cref="ResilienceOptions"/>.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">No store is registered under this builder's name yet.</exception>
    public static StateKitBuilder WithCircuitBreaker(this StateKitBuilder builder, Action<ResilienceOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var name = builder.StoreName;
        var keyed = name.Length != 0;
        var descriptor = services.LastOrDefault(d => d.ServiceType == typeof(ISessionStore) && (keyed ? Equals(d.ServiceKey, name) : !d.IsKeyedService))
            ?? throw new InvalidOperationException($"WithCircuitBreaker guards the store chosen before it: call UseInMemory, UseDistributedCache or another UseXxx on this builder first (store '{name}').");
        var optionsBuilder = services.AddOptions<ResilienceOptions>(name);
        if (configure is not null)
        {
            optionsBuilder.Configure(configure);
        }

        optionsBuilder.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ResilienceOptions>, ResilienceValidator>());
        services.Remove(descriptor);

        ISessionStore Wrap(IServiceProvider sp, ISessionStore inner)
        {
            var options = sp.GetRequiredService<IOptionsMonitor<ResilienceOptions>>().Get(name);
            options.Name ??= keyed ? name : "default";
            return new ResilientSessionStore(inner, options, null, sp.GetService<TimeProvider>(), sp.GetService<ILogger<ResilientSessionStore>>());
        }

        if (keyed)
        {
            var factory = descriptor.KeyedImplementationFactory!;
            services.AddKeyedSingleton<ISessionStore>(name, (sp, key) => Wrap(sp, (ISessionStore)factory(sp, key)));
        }
        else
        {
            var factory = descriptor.ImplementationFactory!;
            services.AddSingleton<ISessionStore>(sp => Wrap(sp, (ISessionStore)factory(sp)));
        }

        return builder;
    }

    internal sealed record TierRegistration(string Name);

    private sealed class TieringValidator(IEnumerable<TierRegistration> tiers) : IValidateOptions<TieredSessionStoreOptions>
    {
        public ValidateOptionsResult Validate(string? name, TieredSessionStoreOptions options)
        {
            var errors = options.GetValidationErrors(tiers.Select(t => t.Name).ToArray());
            return OptionsValidation.ToResult(errors);
        }
    }

    private sealed class ResilienceValidator : IValidateOptions<ResilienceOptions>
    {
        public ValidateOptionsResult Validate(string? name, ResilienceOptions options)
        {
            var errors = options.GetValidationErrors();
            return OptionsValidation.ToResult(errors);
        }
    }
}
