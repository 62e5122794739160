using System;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StateKit.Caching;

namespace StateKit.DependencyInjection;

/// <summary>A near cache (L1) on <see cref="StateKitBuilder"/>.</summary>
/// <example>
/// <code>
/// services.AddSingleton&lt;ISessionInvalidationBus&gt;(sp => new RedisSessionInvalidationBus(redis, keyPrefix: "shop:"));
/// services.AddStateKit(kit => kit
///     .UseRedis("localhost:6379", o => o.KeyPrefix = "shop:")
///     .WithNearCache(o => o.TimeToLive = TimeSpan.FromSeconds(10)));
/// </code>
/// </example>
public static class StateKitBuilderCachingExtensions
{
    // The bus near caches share when the application registers none: it keeps the near caches of one process in step.
    private const string InProcessBusKey = "StateKit.NearCache.InProcessBus";

    /// <summary>
    /// Keeps recently loaded sessions of the store this builder configured (call it after <c>UseXxx</c>) in process
    /// memory, with a <see cref="NearCacheSessionStore"/>. Options are validated at start-up.
    /// </summary>
    /// <remarks>
    /// Commits are published on the registered <see cref="ISessionInvalidationBus"/>, e.g. StateKit.Redis's
    /// <c>RedisSessionInvalidationBus</c>, which every node of the application must share. Without one, near caches hear
    /// only the commits of this process: right for a single node, stale for up to <see cref="NearCacheOptions.TimeToLive"/>
    /// across several.
    /// </remarks>
    /// <param name="builder">The builder of the store to cache.</param>
    /// <param name="configure">Changes to the default <see cref="NearCacheOptions"/>.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">No store is registered under this builder's name yet.</exception>
    public static StateKitBuilder WithNearCache(this StateKitBuilder builder, Action<NearCacheOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var name = builder.StoreName;
        StoreDecorator.Decorate(builder, nameof(WithNearCache), (sp, inner) =>
        {
            var options = sp.GetRequiredService<IOptionsMonitor<NearCacheOptions>>().Get(name);
            options.Name ??= name.Length != 0 ? name + "-near-cache" : "near-cache";
            var bus = sp.GetService<ISessionInvalidationBus>() ?? sp.GetRequiredKeyedService<InMemorySessionInvalidationBus>(InProcessBusKey);
            return new NearCacheSessionStore(inner, options, bus, null, sp.GetService<TimeProvider>(), sp.GetService<ILogger<NearCacheSessionStore>>());
        });
        var services = builder.Services;
        var optionsBuilder = services.AddOptions<NearCacheOptions>(name);
        if (configure is not null)
        {
            optionsBuilder.Configure(configure);
        }

        optionsBuilder.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<NearCacheOptions>, NearCacheValidator>());
        services.TryAddKeyedSingleton<InMemorySessionInvalidationBus>(InProcessBusKey);
        return builder;
    }

    private sealed class NearCacheValidator : IValidateOptions<NearCacheOptions>
    {
        public ValidateOptionsResult Validate(string? name, NearCacheOptions options)
        {
            var errors = options.GetValidationErrors();
            return OptionsValidation.ToResult(errors);
        }
    }
}
