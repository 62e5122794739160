using System;
using System.Linq;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using StackExchange.Redis;

namespace StateKit.Redis;

/// <summary>
/// The one multiplexer a store uses: either borrowed (from DI or the caller, never disposed here) or connected once,
/// lazily, from a configuration string and owned. Never one per request.
/// </summary>
internal sealed class RedisConnection : IDisposable, IAsyncDisposable
{
    private readonly ConfigurationOptions? _configuration;
    private readonly Lock _gate = new();
    private IConnectionMultiplexer? _multiplexer;
    private Task<IConnectionMultiplexer>? _connecting;
    private bool _owned;

    public RedisConnection(IConnectionMultiplexer multiplexer) => _multiplexer = multiplexer;

    public RedisConnection(string configuration)
    {
        _configuration = ConfigurationOptions.Parse(configuration);

        // A store that is down must fail each operation fast (SessionStoreUnavailableException), not fail start-up.
        _configuration.AbortOnConnectFail = false;
        RedisDefaults.ApplyClientTimeouts(_configuration, configuration);
    }

    /// <summary>Gets the endpoints this connection talks to, for error messages.</summary>
    public string Endpoints
    {
        get
        {
            if (_multiplexer is { } connected)
            {
                return Join(connected.GetEndPoints());
            }

            var configured = Join(_configuration?.EndPoints.ToArray() ?? []);
            return string.IsNullOrEmpty(_configuration?.ServiceName) ? configured : $"sentinels {configured} (service '{_configuration.ServiceName}')";
        }
    }

    public ValueTask<IConnectionMultiplexer> GetAsync()
    {
        var multiplexer = Volatile.Read(ref _multiplexer);
        return multiplexer is not null ? ValueTask.FromResult(multiplexer) : new ValueTask<IConnectionMultiplexer>(WaitForConnectionAsync());
    }

    public void Dispose()
    {
        if (_owned)
        {
            _multiplexer?.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_owned && _multiplexer is not null)
        {
            await _multiplexer.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static string Join(EndPoint[] endpoints) => endpoints.Length == 0 ? "(no endpoint configured)" : string.Join(", ", endpoints.Select(Format));

    private static string Format(EndPoint endpoint) => endpoint switch
    {
        DnsEndPoint dns => $"{dns.Host}:{dns.Port}",
        _ => endpoint.ToString() ?? "?",
    };

    /// <summary>
    /// Waits at most <c>connectTimeout</c> for the connection. Through sentinels (<c>serviceName=...</c>), StackExchange.Redis
    /// connects only once they name a primary that answers as one, and during a failover that took over 6 s with a 1 s
    /// <c>connectTimeout</c>: an operation then fails like any unreachable Redis while the attempt goes on for the next one.
    /// </summary>
    private async Task<IConnectionMultiplexer> WaitForConnectionAsync()
    {
        var connecting = ConnectAsync();
        var limit = TimeSpan.FromMilliseconds(_configuration!.ConnectTimeout);
        try
        {
            return await connecting.WaitAsync(limit).ConfigureAwait(false);
        }
        catch (TimeoutException e)
        {
            // The attempt goes on; should it fail with nobody waiting, its exception is observed here, not at finalization.
            _ = connecting.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            var through = string.IsNullOrEmpty(_configuration.ServiceName)
                ? string.Empty
                : $": the sentinels have not named a reachable primary for service '{_configuration.ServiceName}' yet";
            throw new RedisConnectionException(
                ConnectionFailureType.UnableToConnect,
                CommandFlags.None,
                $"No connection to Redis within connectTimeout ({limit.TotalMilliseconds} ms){through}. The next operation waits for the same attempt.",
                e,
                CommandStatus.Unknown);
        }
    }

    private Task<IConnectionMultiplexer> ConnectAsync()
    {
        lock (_gate)
        {
            // On the thread pool: through sentinels, StackExchange.Redis does part of its connect synchronously before it
            // returns a task (a first request once blocked 7.4 s in it, where neither connectTimeout's wait below nor the
            // breaker's timeout could end the call).
            return _connecting ??= Task.Run(ConnectCoreAsync);
        }
    }

    private async Task<IConnectionMultiplexer> ConnectCoreAsync()
    {
        IConnectionMultiplexer multiplexer;
        try
        {
            multiplexer = await ConnectionMultiplexer.ConnectAsync(_configuration!).ConfigureAwait(false);
        }
        catch
        {
            // Let the next operation try again rather than caching the failure forever.
            lock (_gate)
            {
                _connecting = null;
            }

            throw;
        }

        _owned = true;
        Volatile.Write(ref _multiplexer, multiplexer);
        return multiplexer;
    }
}
