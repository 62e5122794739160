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
            var endpoints = _multiplexer?.GetEndPoints() ?? _configuration?.EndPoints.ToArray() ?? [];
            return endpoints.Length == 0 ? "(no endpoint configured)" : string.Join(", ", endpoints.Select(Format));
        }
    }

    public ValueTask<IConnectionMultiplexer> GetAsync()
    {
        var multiplexer = Volatile.Read(ref _multiplexer);
        return multiplexer is not null ? ValueTask.FromResult(multiplexer) : new ValueTask<IConnectionMultiplexer>(ConnectAsync());
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

    private static string Format(EndPoint endpoint) => endpoint switch
    {
        DnsEndPoint dns => $"{dns.Host}:{dns.Port}",
        _ => endpoint.ToString() ?? "?",
    };

    private Task<IConnectionMultiplexer> ConnectAsync()
    {
        lock (_gate)
        {
            return _connecting ??= ConnectCoreAsync();
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
