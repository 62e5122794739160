using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Hosting;

namespace StateKit.Sticky;

/// <summary>
/// Drains a sticky store when the host stops. Registered before the web server's own hosted service, it stops after
/// it: the server has finished its in-flight requests, so the drain copies every session's final state.
/// </summary>
internal sealed class StickyDrainService(StickySessionStore store) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    // The host's shutdown token bounds the drain besides the store's own DrainTimeout.
    public Task StopAsync(CancellationToken cancellationToken) => store.DrainAsync(cancellationToken);

    internal sealed record Registration(string StoreName);
}
