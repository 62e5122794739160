using System;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace StateKit.Redis.Tests;

/// <summary>
/// Starts a bare provider's hosted services the way a host does, so that <c>UseRedis</c>'s warm-up opens the connection
/// before the first call: without it the connect runs inside the default breaker's 500 ms, and on a busy CI machine a
/// first commit once failed with <c>SessionStoreRejectedException</c> (Timeout) against a healthy server.
/// </summary>
internal static class HostStart
{
    public static async Task RunAsync(IServiceProvider provider)
    {
        foreach (var service in provider.GetServices<IHostedService>())
        {
            await service.StartAsync(default);
        }
    }
}
