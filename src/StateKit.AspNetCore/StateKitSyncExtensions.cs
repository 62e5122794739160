using System;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StateKit.DependencyInjection;
using StateKit.Tiering;

namespace StateKit.AspNetCore;

/// <summary>
/// Offline-first sync: an endpoint that takes the operations a client recorded while offline and applies them to its
/// session, settling conflicts per key. The client half is <c>_content/StateKit.AspNetCore/statekit-sync.js</c>.
/// </summary>
public static class StateKitSyncExtensions
{
    /// <summary>
    /// Maps <c>POST <paramref name="pattern"/></c>: a JSON batch of operations (set, remove, counter add, set add, set
    /// remove), each with an id and the version of its key the client last saw, answered per operation with applied,
    /// merged, or rejected with the server's value and version. The batch applies as one compare-and-set, or not at all;
    /// a malformed batch is a 400 with nothing applied; an operation id seen before is answered as before and changes
    /// nothing. The protocol is in docs/offline.md.
    /// </summary>
    /// <remarks>
    /// The endpoint keeps each synced key's version, and the ids it answered, in the session under
    /// <see cref="StateKitSyncOptions.LedgerKey"/>, and commits them with the keys in one compare-and-set: it needs a store
    /// whose <see cref="SessionStoreCapabilities.Concurrency"/> is <see cref="ConcurrencyGuarantee.CompareAndSet"/>
    /// (in-memory, Redis, sticky). Call it after <c>UseStateKit()</c> is in the pipeline.
    /// </remarks>
    /// <param name="endpoints">The app's endpoints.</param>
    /// <param name="pattern">The route, usually <c>/statekit/sync</c> (the client module's default).</param>
    /// <param name="configure">Lists the synced keys and their policies, and the limits.</param>
    /// <param name="storeName">The store's name, or <see langword="null"/> for the default store.</param>
    /// <returns>The endpoint's convention builder (to add authorization or rate limiting).</returns>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">The options are invalid; the message lists every error.</exception>
    /// <exception cref="NotSupportedException">The store cannot apply a batch atomically (last writer wins, or a tiered store).</exception>
    /// <exception cref="InvalidOperationException">StateKit, or the named store, is not registered.</exception>
    public static IEndpointConventionBuilder MapStateKitSync(
        this IEndpointRouteBuilder endpoints,
        string pattern,
        Action<StateKitSyncOptions> configure,
        string? storeName = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(configure);
        ArgumentException.ThrowIfNullOrEmpty(pattern);
        var options = new StateKitSyncOptions();
        configure(options);
        OptionsValidation.ThrowIfAny(typeof(StateKitSyncOptions), options.GetValidationErrors());

        var services = endpoints.ServiceProvider;
        var name = storeName ?? SessionStores.DefaultName;
        var stores = services.GetService<SessionStores>() ?? throw new InvalidOperationException(
            "StateKit is not registered. Call builder.Services.AddStateKit(kit => kit.UseInMemory().AddHttp()) before MapStateKitSync.");
        ThrowIfUnsupported(stores.GetStore(name), name);

        var engine = new SyncEngine(
            options,
            services.GetService<TimeProvider>() ?? TimeProvider.System,
            services.GetService<ILoggerFactory>()?.CreateLogger("StateKit.AspNetCore.Sync") ?? NullLogger.Instance);
        var endpoint = new SyncEndpoint(options, engine, name);
        return endpoints.MapPost(pattern, endpoint.HandleAsync);
    }

    private static void ThrowIfUnsupported(ISessionStore store, string name)
    {
        var label = name.Length == 0 ? "The default store" : $"Store '{name}'";
        if (store is ICompositeTicketStore)
        {
            throw new NotSupportedException(
                $"{label} is tiered: a batch and its versions must commit in one tier, atomically. Add the synced keys' tier as a store of its own (AddStore) and pass its name to MapStateKitSync.");
        }

        if (store.Capabilities.Concurrency != ConcurrencyGuarantee.CompareAndSet)
        {
            throw new NotSupportedException(
                $"{label} ({store.GetType().Name}) has Capabilities.Concurrency = {store.Capabilities.Concurrency}: a batch could overwrite a concurrent one, so offline sync cannot keep per-key versions on it. " +
                "Use a store with CompareAndSet (UseInMemory, UseRedis, UseSticky) for the synced keys.");
        }
    }
}
