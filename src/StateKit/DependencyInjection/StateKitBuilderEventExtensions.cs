using System;
using System.Diagnostics.CodeAnalysis;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using StateKit.Events;

namespace StateKit.DependencyInjection;

/// <summary>
/// Subscribes to session lifecycle events (see docs/events.md). Subscriptions are application-wide: whichever builder
/// they are made on, every store's events reach every handler, and <see cref="SessionEvent.StoreName"/> tells the stores apart.
/// Without a subscription no queue exists and stores raise nothing.
/// </summary>
public static class StateKitBuilderEventExtensions
{
    /// <summary>
    /// Hands every session lifecycle event to <paramref name="handler"/>, from a background queue: a slow or failing handler
    /// never delays or fails a commit (a full queue drops events and counts them in <c>statekit.events.dropped</c>).
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="handler">Called once per event, one event at a time; an exception it throws is logged and swallowed.</param>
    /// <returns>The builder.</returns>
    public static StateKitBuilder OnSessionEvent(this StateKitBuilder builder, Func<SessionEvent, CancellationToken, ValueTask> handler)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(handler);
        builder.Services.AddSingleton<ISessionEventHandler>(new DelegateSessionEventHandler(handler));
        AddDispatcher(builder.Services);
        return builder;
    }

    /// <summary>Registers <typeparamref name="THandler"/> as a singleton <see cref="ISessionEventHandler"/> that receives every session lifecycle event.</summary>
    /// <typeparam name="THandler">The handler; it may depend on singletons, the stores included.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static StateKitBuilder AddSessionEventHandler<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] THandler>(this StateKitBuilder builder)
        where THandler : class, ISessionEventHandler
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<ISessionEventHandler, THandler>());
        AddDispatcher(builder.Services);
        return builder;
    }

    /// <summary>Changes the event queue's capacity or the expiry sweep's interval; validated at start-up.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Changes to the defaults.</param>
    /// <returns>The builder.</returns>
    public static StateKitBuilder ConfigureSessionEvents(this StateKitBuilder builder, Action<SessionEventOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.Configure(configure);
        return builder;
    }

    private static void AddDispatcher(IServiceCollection services)
    {
        if (services.Any(d => d.ServiceType == typeof(SessionEventDispatcher)))
        {
            return;
        }

        services.AddSingleton(sp => new SessionEventDispatcher(
            sp,
            sp.GetRequiredService<IOptions<SessionEventOptions>>(),
            sp.GetService<TimeProvider>(),
            sp.GetService<Microsoft.Extensions.Logging.ILogger<SessionEventDispatcher>>()));
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<SessionEventDispatcher>());
        services.AddOptions<SessionEventOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SessionEventOptions>, SessionEventOptionsValidator>());
    }

    private sealed class SessionEventOptionsValidator : IValidateOptions<SessionEventOptions>
    {
        public ValidateOptionsResult Validate(string? name, SessionEventOptions options) => OptionsValidation.ToResult(options.GetValidationErrors());
    }
}
