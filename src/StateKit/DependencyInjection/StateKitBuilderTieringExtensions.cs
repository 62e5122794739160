using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using StateKit.Tiering;

namespace StateKit.DependencyInjection;

/// <summary>Tiers on <see cref="StateKitBuilder"/>: several stores behind the default one, each session key routed to one of them.</summary>
/// <example>
/// <code>
/// services.AddStateKit(kit => kit
///     .AddTier("critical", t => t.UseInMemory())
///     .AddTier("standard", t => t.UseDistributedCache())
///     .MapKey("cart", "critical")
///     .MapKeyPrefix("ui:", "standard")
///     .WithDefaultTier("standard"));
/// </code>
/// </example>
public static class StateKitBuilderTieringExtensions
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
        builder.Services.Configure<TieredSessionStoreOptions>(o => o.MapKeyPrefix(prefix, tier));
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

    internal sealed record TierRegistration(string Name);

    private sealed class TieringValidator(IEnumerable<TierRegistration> tiers) : IValidateOptions<TieredSessionStoreOptions>
    {
        public ValidateOptionsResult Validate(string? name, TieredSessionStoreOptions options)
        {
            var errors = options.GetValidationErrors(tiers.Select(t => t.Name).ToArray());
            return OptionsValidation.ToResult(errors);
        }
    }
}
