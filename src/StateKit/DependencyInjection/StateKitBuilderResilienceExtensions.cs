using System;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StateKit.Events;
using StateKit.Resilience;

namespace StateKit.DependencyInjection;

/// <summary>Circuit breakers on <see cref="StateKitBuilder"/>.</summary>
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
    /// Guards the store this builder configured (call it after <c>UseXxx</c>) with a timeout, a concurrency limit and a
    /// circuit breaker, and sets what it does during an outage. Options are validated at start-up. A store has at most one
    /// breaker: on a store that already has one (a second call, or a store such as <c>UseRedis</c> that turns one on by
    /// default) this configures that breaker, with <paramref name="configure"/> applied after the earlier settings.
    /// </summary>
    /// <param name="builder">The builder of the store to guard.</param>
    /// <param name="configure">Changes to the default <see cref="ResilienceOptions"/>.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">No store is registered under this builder's name yet.</exception>
    public static StateKitBuilder WithCircuitBreaker(this StateKitBuilder builder, Action<ResilienceOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var name = builder.StoreName;
        var guarded = GuardedStores.Of(builder.Services);
        if (!guarded.Contains(name))
        {
            StoreDecorator.Decorate(builder, nameof(WithCircuitBreaker), (sp, inner) =>
            {
                if (sp.GetRequiredService<IOptionsMonitor<CircuitBreakerSwitch>>().Get(name).Off)
                {
                    return inner;
                }

                var options = sp.GetRequiredService<IOptionsMonitor<ResilienceOptions>>().Get(name);
                options.Name ??= name.Length != 0 ? name : "default";
                var store = new ResilientSessionStore(inner, options, null, sp.GetService<TimeProvider>(), sp.GetService<ILogger<ResilientSessionStore>>());
                if (SessionEventSink.Find(sp, name) is { } events)
                {
                    ((ISessionEventSource)store).AttachEvents(events);
                }

                return store;
            });
            guarded.Add(name);
        }

        builder.Services.Configure<CircuitBreakerSwitch>(name, s => s.Off = false);
        var optionsBuilder = builder.Services.AddOptions<ResilienceOptions>(name);
        if (configure is not null)
        {
            optionsBuilder.Configure(configure);
        }

        optionsBuilder.ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ResilienceOptions>, ResilienceValidator>());
        return builder;
    }

    /// <summary>
    /// Turns off the circuit breaker of the store this builder configured, e.g. the one <c>UseRedis</c> adds by default: calls
    /// then go straight to the store, each waiting out the store client's own timeout during an outage. A later
    /// <see cref="WithCircuitBreaker"/> on the same builder turns it back on.
    /// </summary>
    /// <param name="builder">The builder of the store.</param>
    /// <returns>The builder.</returns>
    public static StateKitBuilder WithoutCircuitBreaker(this StateKitBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Configure<CircuitBreakerSwitch>(builder.StoreName, s => s.Off = true);
        return builder;
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
