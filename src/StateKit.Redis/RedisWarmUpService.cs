using System;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace StateKit.Redis;

/// <summary>
/// Opens each Redis store's connection while the host starts, so that the first requests do not pay for the connect
/// inside the fail-fast operation timeout: on a busy node a connect alone can outlast it, and those requests would fail
/// with a 503 against a healthy server.
/// </summary>
/// <remarks>
/// The connect is bounded by the connection's own <c>connectTimeout</c> (1 s by default) and never fails start-up: a
/// store that is down at start-up is an outage like any other, reported by each operation.
/// </remarks>
internal sealed class RedisWarmUpService(IServiceProvider services, string storeName) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var connection = services.GetRequiredKeyedService<RedisConnection>(storeName);
        var logger = services.GetService<ILogger<RedisWarmUpService>>() ?? NullLogger<RedisWarmUpService>.Instance;
        try
        {
            var multiplexer = await connection.GetAsync().AsTask().WaitAsync(cancellationToken).ConfigureAwait(false);
            if (!multiplexer.IsConnected)
            {
                Log.RedisWarmUpNotConnected(logger, storeName, connection.Endpoints);
            }
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            Log.RedisWarmUpNotConnected(logger, storeName, connection.Endpoints);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Marks a store name whose warm-up is registered, so that a second <c>UseRedis</c> for it adds none.</summary>
    internal sealed record Registration(string StoreName);
}
