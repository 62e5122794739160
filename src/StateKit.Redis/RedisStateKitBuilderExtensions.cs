using System;
using System.Linq;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using StateKit.DependencyInjection;

namespace StateKit.Redis;

/// <summary>Registers the Redis store with <c>AddStateKit(kit =&gt; kit.UseRedis(...))</c>.</summary>
public static class RedisStateKitBuilderExtensions
{
    /// <summary>
    /// Keeps sessions in Redis (<see cref="RedisSessionStore"/>), connecting with a configuration string. The store opens one
    /// multiplexer for the application, on first use, and closes it with the service provider.
    /// </summary>
    /// <param name="builder">The StateKit builder.</param>
    /// <param name="configuration">A StackExchange.Redis configuration string, e.g. <c>localhost:6379</c>.</param>
    /// <param name="configure">Changes to the default options, or <see langword="null"/>.</param>
    /// <returns>The builder.</returns>
    public static StateKitBuilder UseRedis(this StateKitBuilder builder, string configuration, Action<RedisSessionStoreOptions>? configure = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(configuration);
        return builder.UseRedis(options =>
        {
            options.Configuration = configuration;
            configure?.Invoke(options);
        });
    }

    /// <summary>
    /// Keeps sessions in Redis (<see cref="RedisSessionStore"/>), over a connection of its own when
    /// <see cref="RedisSessionStoreOptions.Configuration"/> is set, else over the <see cref="IConnectionMultiplexer"/>
    /// registered in DI. Each store (each tier) gets its own connection object. Options are validated at start-up.
    /// </summary>
    /// <remarks>
    /// The store fails fast by default: it comes behind a circuit breaker (<see cref="StateKit.Resilience.ResilientSessionStore"/>,
    /// <see cref="StateKit.Resilience.OutagePolicy.FailFast"/>) whose calls time out after 500 ms and which opens when half the
    /// calls of the last 2 s (at least 10) failed, then probes every 5 s; while it is open a call fails at once with
    /// <see cref="StateKit.Resilience.SessionStoreRejectedException"/> (a 503 over HTTP). A connection the store opens itself
    /// gets <c>connectTimeout</c>, <c>asyncTimeout</c> and <c>syncTimeout</c> of 1000 ms unless the configuration string sets
    /// them. Call <c>WithCircuitBreaker(...)</c> after <c>UseRedis</c> to change that breaker (another outage policy, other
    /// timeouts), or <c>WithoutCircuitBreaker()</c> to call Redis directly. See docs/resilience.md.
    /// </remarks>
    /// <param name="builder">The StateKit builder.</param>
    /// <param name="configure">Changes to the default options, or <see langword="null"/>.</param>
    /// <returns>The builder.</returns>
    public static StateKitBuilder UseRedis(this StateKitBuilder builder, Action<RedisSessionStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RedisSessionStoreOptions>, RedisConnectionValidator>());

        // One connection per store name, a singleton of its own so that the container disposes it (only when the store
        // created it). A configuration string of the store's own wins over the shared multiplexer: that is how a critical
        // tier that waits for replicas gets a connection no other tier's commands queue behind.
        var name = builder.StoreName;
        services.TryAddKeyedSingleton(name, (sp, _) =>
        {
            var options = sp.GetRequiredService<IOptionsMonitor<RedisSessionStoreOptions>>().Get(name);
            if (!string.IsNullOrWhiteSpace(options.Configuration))
            {
                return new RedisConnection(options.Configuration);
            }

            return new RedisConnection(sp.GetRequiredService<IConnectionMultiplexer>());
        });
        // Connect while the host starts, not inside the first requests' 500 ms (only for a connection the store opens; a
        // multiplexer from DI was connected by whoever built it).
        if (!services.Any(d => d.ServiceType == typeof(RedisWarmUpService.Registration) && ((RedisWarmUpService.Registration?)d.ImplementationInstance)?.StoreName == name))
        {
            services.AddSingleton(new RedisWarmUpService.Registration(name));
            services.AddSingleton<IHostedService>(sp => new RedisWarmUpService(sp, name));
        }

        builder.UseStore<RedisSessionStoreOptions>(
            RedisDefaults.Kind,
            configure,
            (sp, options) => new RedisSessionStore(
                sp.GetRequiredKeyedService<RedisConnection>(name),
                options,
                sp.GetService<TimeProvider>(),
                sp.GetService<ILogger<RedisSessionStore>>()));

        // Fail fast by default: an outage costs each request at most the operation timeout until the breaker opens, then
        // microseconds. WithCircuitBreaker(...) afterwards configures this same breaker; WithoutCircuitBreaker() removes it.
        return builder.WithCircuitBreaker(RedisDefaults.ApplyResilience);
    }
}
