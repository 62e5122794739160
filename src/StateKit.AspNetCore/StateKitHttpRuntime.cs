using System;
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

    public StateKitHttpOptions Options { get; }

    public SessionStores Stores { get; }

    public ITicketChannel Channel { get; }

    public TimeProvider Time { get; }

    public ILogger Logger { get; }

    /// <summary>Gets what <c>ConfigureJson</c> set up, or <see langword="null"/> for StateKit's defaults.</summary>
    public JsonSerializerOptions? Json { get; }
}
