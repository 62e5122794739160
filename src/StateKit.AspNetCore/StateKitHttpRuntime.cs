using System;
using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StateKit.DependencyInjection;

namespace StateKit.AspNetCore;

/// <summary>What every request's <see cref="StateKitFeature"/> shares: options, stores, the ticket channel, JSON options, the logger.</summary>
internal sealed class StateKitHttpRuntime
{
    public StateKitHttpRuntime(IOptions<StateKitHttpOptions> options, SessionStores stores, TimeProvider? time = null, IHostEnvironment? environment = null, ILogger<StateKitHttpRuntime>? logger = null, IOptions<StateKitJsonOptions>? json = null)
    {
        Json = json?.Value.SerializerOptions;
        // Reading Value runs StateKitHttpOptionsValidator: invalid options never get this far.
        Options = options.Value;
        Stores = stores;
        Time = time ?? TimeProvider.System;
        Logger = logger ?? (ILogger)NullLogger.Instance;
        Channel = Options.Transport switch
        {
            TicketTransport.Header => new HeaderTicketChannel(Options),
            _ => new CookieTicketChannel(Options, environment),
        };
    }

    private readonly ConcurrentDictionary<string, string> _readOnlyReasons = new(StringComparer.Ordinal);

    public StateKitHttpOptions Options { get; }

    public SessionStores Stores { get; }

    public ITicketChannel Channel { get; }

    public TimeProvider Time { get; }

    public ILogger Logger { get; }

    /// <summary>Gets what <c>ConfigureJson</c> set up, or <see langword="null"/> for StateKit's defaults.</summary>
    public JsonSerializerOptions? Json { get; }

    /// <summary>
    /// Why a session of <paramref name="storeName"/> refuses changes once the response has started: one string per store,
    /// built once, since every streamed request seals its sessions and the message is read only when a change is refused.
    /// </summary>
    public string ReadOnlyReason(string storeName)
        => _readOnlyReasons.GetOrAdd(storeName, static name =>
            $"the response has already started, and StateKit saved this session ({(name.Length == 0 ? "the default store" : $"store '{name}'")}) " +
            "and sent its ticket when it did (the first write or flush of the body, or StartAsync), so a change now could reach " +
            "neither the store nor the client. Change the session before writing the response, or buffer this endpoint's " +
            "response (.BufferStateKitResponse() or [BufferStateKitResponse]; StateKitHttpOptions.BufferResponseBody for every endpoint).");
}
