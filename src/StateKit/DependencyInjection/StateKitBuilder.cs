using System;
using System.Diagnostics.CodeAnalysis;
using System.Linq;
using System.Text.Json;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StateKit.Caching;
using StateKit.ClientSide;
using StateKit.Diagnostics;
using StateKit.Distributed;
using StateKit.Events;
using StateKit.Memory;
using StateKit.Sticky;

namespace StateKit.DependencyInjection;

/// <summary>
/// Chooses and configures the store behind <see cref="ISessionStore"/> (the default store) or behind one named store.
/// Returned by <c>AddStateKit</c>; <see cref="AddStore"/> gives one for each named store.
/// </summary>
public sealed class StateKitBuilder
{
    internal StateKitBuilder(IServiceCollection services, string storeName)
    {
        Services = services;
        StoreName = storeName;
    }

    /// <summary>Gets the service collection, for packages that add stores of their own.</summary>
    public IServiceCollection Services { get; }

    /// <summary>Gets the name of the store this builder configures; <see cref="SessionStores.DefaultName"/> for the default store.</summary>
    public string StoreName { get; }

    /// <summary>
    /// Adds a named store beside the default one, e.g. a client-side store for preferences next to Redis for the cart.
    /// Resolve it with <see cref="SessionStores.GetStore"/> or <c>[FromKeyedServices(name)] ISessionStore</c>; the
    /// ASP.NET Core transport carries one ticket per store name.
    /// </summary>
    /// <param name="name">The store's name: letters, digits, '-' and '_'.</param>
    /// <param name="configure">Chooses and configures the named store.</param>
    /// <returns>This builder (the default store's), to chain more stores.</returns>
    public StateKitBuilder AddStore(string name, Action<StateKitBuilder> configure)
    {
        SessionStores.ValidateName(name);
        ArgumentNullException.ThrowIfNull(configure);
        configure(new StateKitBuilder(Services, name));
        return this;
    }

    /// <summary>
    /// Configures the JSON options through which <see cref="StateSession.GetAsync{T}(string, System.Threading.CancellationToken)"/>,
    /// <see cref="StateSession.Get{T}(string)"/> and <see cref="StateSession.Set{T}(string, T)"/> find each type's
    /// source-generated metadata, e.g. <c>kit.ConfigureJson(o =&gt; o.TypeInfoResolverChain.Insert(0, AppJson.Default))</c>.
    /// One set of options serves every store of the app, whichever builder configures it.
    /// </summary>
    /// <param name="configure">Changes to <see cref="StateKitJsonOptions.SerializerOptions"/> (web defaults).</param>
    /// <returns>This builder.</returns>
    public StateKitBuilder ConfigureJson(Action<JsonSerializerOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        Services.Configure<StateKitJsonOptions>(options => configure(options.SerializerOptions));
        return this;
    }

    /// <summary>Keeps sessions in this process's memory (<see cref="InMemorySessionStore"/>).</summary>
    /// <param name="configure">Changes to the default options, or <see langword="null"/>.</param>
    /// <returns>This builder.</returns>
    public StateKitBuilder UseInMemory(Action<InMemorySessionStoreOptions>? configure = null)
        => UseStore<InMemorySessionStoreOptions>(
            InMemorySessionStore.Kind,
            configure,
            (sp, options) => new InMemorySessionStore(options, sp.GetService<TimeProvider>(), sp.GetService<ILogger<InMemorySessionStore>>()));

    /// <summary>
    /// Keeps sessions in the registered <see cref="IDistributedCache"/> (<see cref="DistributedCacheSessionStore"/>).
    /// Register the cache itself as usual, e.g. <c>AddDistributedSqlServerCache</c>.
    /// </summary>
    /// <param name="configure">Changes to the default options, or <see langword="null"/>.</param>
    /// <returns>This builder.</returns>
    public StateKitBuilder UseDistributedCache(Action<DistributedCacheSessionStoreOptions>? configure = null)
        => UseStore<DistributedCacheSessionStoreOptions>(
            "distributed-cache",
            configure,
            (sp, options) => new DistributedCacheSessionStore(
                sp.GetService<IDistributedCache>() ?? throw new InvalidOperationException(
                    "UseDistributedCache needs an IDistributedCache service. Register one first, e.g. services.AddDistributedMemoryCache() or AddStackExchangeRedisCache(...)."),
                options,
                sp.GetService<TimeProvider>(),
                sp.GetService<ILogger<DistributedCacheSessionStore>>()));

    /// <summary>
    /// Keeps each session inside an AES-GCM sealed ticket the client carries (<see cref="ClientSideSessionStore"/>).
    /// Configure keys (or register an <see cref="IClientSideKeyProvider"/>); with none the application fails at start-up.
    /// </summary>
    /// <param name="configure">Sets keys, purpose and limits.</param>
    /// <returns>This builder.</returns>
    public StateKitBuilder UseClientSide(Action<ClientSideSessionStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        UseStore<ClientSideSessionStoreOptions>(
            ClientSideSessionStore.Kind,
            configure,
            (sp, options) => new ClientSideSessionStore(options, sp.GetService<TimeProvider>(), sp.GetService<ILogger<ClientSideSessionStore>>()));

        // Before validation runs, so that a key provider registered in DI counts as a key source; and per store name, so
        // that a named store gets its own purpose (two stores sharing a key never open each other's tickets).
        var name = StoreName;
        Services.AddOptions<ClientSideSessionStoreOptions>(name)
            .PostConfigure<IServiceProvider>((options, sp) =>
            {
                options.KeyProvider ??= sp.GetService<IClientSideKeyProvider>();
                options.DerivePurposeFromStoreName(name);
            });
        return this;
    }

    /// <summary>
    /// Keeps sessions in this node's memory with tickets that name the node (<see cref="StickySessionStore"/>), for a
    /// proxy with session affinity (StateKit.Yarp, or nginx/HAProxy routing on the ticket). Set
    /// <see cref="StickySessionStoreOptions.BackupStoreName"/> to another registered store to survive node loss; a hosted
    /// service then drains every session to it when the host stops. Register an <see cref="ISessionInvalidationBus"/>
    /// (e.g. StateKit.Redis's <c>RedisSessionInvalidationBus</c>) so that a revocation on any node reaches every node.
    /// </summary>
    /// <param name="configure">Sets the node id and key ring (required) and changes the defaults.</param>
    /// <returns>This builder.</returns>
    public StateKitBuilder UseSticky(Action<StickySessionStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        var name = StoreName;
        Services.RemoveAllKeyed<StickySessionStore>(name);
        Services.AddKeyedSingleton(name, (sp, _) =>
        {
            var options = sp.GetRequiredService<IOptionsMonitor<StickySessionStoreOptions>>().Get(name);
            ISessionStore? backup = null;
            if (options.BackupStoreName is { } backupName)
            {
                if (backupName == name)
                {
                    throw new InvalidOperationException($"The sticky store '{name}' cannot be its own backup. Register the backup with AddStore(\"backup\", s => ...) and set BackupStoreName = \"backup\".");
                }

                backup = sp.GetRequiredService<SessionStores>().GetStore(backupName);
            }

            // Revocations reach the other nodes over the application's bus (e.g. StateKit.Redis's pub/sub), when one is registered.
            return new StickySessionStore(options, backup, sp.GetService<TimeProvider>(), sp.GetService<ILogger<StickySessionStore>>(), sp.GetService<ISessionInvalidationBus>());
        });
        // One drain per sticky store, however often UseSticky is called for it.
        if (!Services.Any(d => d.ServiceType == typeof(StickyDrainService.Registration) && ((StickyDrainService.Registration?)d.ImplementationInstance)?.StoreName == name))
        {
            Services.AddSingleton(new StickyDrainService.Registration(name));
            Services.AddSingleton<IHostedService>(sp => new StickyDrainService(sp.GetRequiredKeyedService<StickySessionStore>(name)));
        }

        return UseStore<StickySessionStoreOptions>(StickySessionStore.Kind, configure, (sp, _) => sp.GetRequiredKeyedService<StickySessionStore>(name));
    }

    /// <summary>
    /// Registers a store with options of its own: the options are bound, validated at start-up (every invalid setting
    /// reported in one exception) and handed to <paramref name="factory"/>. Store packages build their <c>UseXxx</c> on this.
    /// </summary>
    /// <typeparam name="TOptions">The store's options.</typeparam>
    /// <param name="kind">The store's kind (<c>memory</c>, <c>redis</c>...): what metrics and traces tag it with unless <see cref="SessionStoreOptions.Name"/> is set.</param>
    /// <param name="configure">Changes to the default options, or <see langword="null"/>.</param>
    /// <param name="factory">Creates the store from the validated options.</param>
    /// <returns>This builder.</returns>
    public StateKitBuilder UseStore<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] TOptions>(string kind, Action<TOptions>? configure, Func<IServiceProvider, TOptions, ISessionStore> factory)
        where TOptions : SessionStoreOptions
    {
        ArgumentException.ThrowIfNullOrEmpty(kind);
        ArgumentNullException.ThrowIfNull(factory);
        var name = StoreName;
        var optionsBuilder = Services.AddOptions<TOptions>(name);
        if (configure is not null)
        {
            optionsBuilder.Configure(configure);
        }

        optionsBuilder.ValidateOnStart();
        Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TOptions>, SessionStoreOptionsValidator<TOptions>>());
        SessionStores.Register(Services, name);

        // A new store replaces the old one with its decorators, breaker included.
        GuardedStores.Of(Services).Forget(name);

        // The store is built once, from the options of its own name, and wrapped for metrics and traces.
        ISessionStore Create(IServiceProvider sp)
        {
            var options = sp.GetRequiredService<IOptionsMonitor<TOptions>>().Get(name);
            var storeName = options.Name ?? (name.Length == 0 ? kind : name);
            var store = factory(sp, options);

            // Only when the application subscribed to events: otherwise no sink exists and the store raises nothing.
            var events = sp.GetService<SessionEventDispatcher>()?.SinkFor(name, storeName);
            if (events is not null && store is ISessionEventSource source)
            {
                source.AttachEvents(events);
            }

            return new InstrumentedSessionStore(store, storeName, events);
        }

        if (name.Length == 0)
        {
            Services.RemoveAll<ISessionStore>();
            Services.AddSingleton(Create);
        }
        else
        {
            Services.RemoveAllKeyed<ISessionStore>(name);
            Services.AddKeyedSingleton<ISessionStore>(name, (sp, _) => Create(sp));
        }

        return this;
    }
}
