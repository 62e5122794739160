using System;
using System.IO;
using System.Text.Json;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StateKit.DependencyInjection;
using StateKit.Sticky;

namespace StateKit.AspNetCore;

/// <summary>
/// Drains a sticky node while it keeps running: an endpoint that starts the drain, and the response header that tells
/// the proxy (StateKit.Yarp's affinity policy) to send the node's users elsewhere once its sessions are in the backup.
/// </summary>
/// <remarks>
/// They live here, on the app node where the sessions are, not in StateKit.Yarp: the gateway is another process, and an
/// app node (behind YARP, nginx or a cloud load balancer alike) needs no proxy package to be drained.
/// </remarks>
public static class StateKitDrainExtensions
{
    /// <summary>
    /// Maps <c>POST <paramref name="pattern"/></c> to <see cref="StickySessionStore.DrainAsync"/> on this node: it answers
    /// when the drain has ended, with what it did as JSON (200 when every session is in the backup, 503 when some are
    /// left: call again to retry).
    /// </summary>
    /// <remarks>
    /// <b>Require an authorization policy</b> on the returned builder (<c>.RequireAuthorization("ops")</c>), or map it on
    /// a port only operators reach (<c>.RequireHost("*:9090")</c>): anyone who can call it takes the node out of
    /// rotation, a denial of service. Nothing is open by default because nothing is mapped until you call this.
    /// </remarks>
    /// <param name="endpoints">The app's endpoints.</param>
    /// <param name="pattern">The route; the default is <c>/statekit/drain</c>.</param>
    /// <param name="storeName">The sticky store's name, or <see langword="null"/> for the default store.</param>
    /// <returns>The endpoint's convention builder, to add the authorization policy to.</returns>
    public static IEndpointConventionBuilder MapStateKitDrain(this IEndpointRouteBuilder endpoints, string pattern = "/statekit/drain", string? storeName = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrEmpty(pattern);
        var name = storeName ?? SessionStores.DefaultName;
        return endpoints.MapPost(pattern, async context =>
        {
            var services = context.RequestServices;
            var store = services.GetRequiredKeyedService<StickySessionStore>(name);

            // Not the request's token: a client that hangs up does not stop a drain half-way; the host's stop does.
            var stopping = services.GetService<IHostApplicationLifetime>()?.ApplicationStopping ?? default;
            var result = await store.DrainAsync(stopping).ConfigureAwait(false);
            context.Response.StatusCode = store.DrainState == StickyDrainState.Drained ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
            context.Response.ContentType = "application/json";
            await WriteAsync(context.Response.Body, store, result).ConfigureAwait(false);
        });
    }

    /// <summary>
    /// Adds the <see cref="StickySessionStore.DrainingHeaderName"/> header (the node id) to every response once the node is
    /// <see cref="StickyDrainState.Drained"/>: StateKit.Yarp's affinity policy then stops routing the node's users, and new
    /// sessions, to it. Before that, while sessions still move, the node keeps its users. Costs one field read per request.
    /// </summary>
    /// <param name="app">The app's pipeline; call it before the endpoints.</param>
    /// <param name="storeName">The sticky store's name, or <see langword="null"/> for the default store.</param>
    /// <returns>The app.</returns>
    public static IApplicationBuilder UseStateKitDrainSignal(this IApplicationBuilder app, string? storeName = null)
    {
        ArgumentNullException.ThrowIfNull(app);
        var store = app.ApplicationServices.GetRequiredKeyedService<StickySessionStore>(storeName ?? SessionStores.DefaultName);
        return app.Use(next => context =>
        {
            if (store.DrainState == StickyDrainState.Drained)
            {
                context.Response.Headers[StickySessionStore.DrainingHeaderName] = store.NodeId;
            }

            return next(context);
        });
    }

    private static async Task WriteAsync(Stream body, StickySessionStore store, StickyDrainResult result)
    {
        var json = new Utf8JsonWriter(body);
        await using var disposing = json.ConfigureAwait(false);
        json.WriteStartObject();
        json.WriteString("node", store.NodeId);
        json.WriteString("state", store.DrainState.ToString());
        json.WriteNumber("sessions", result.Sessions);
        json.WriteNumber("moved", result.Flushed);
        json.WriteNumber("failed", result.Failed);
        json.WriteNumber("remaining", result.Remaining);
        json.WriteNumber("elapsedMs", (long)result.Elapsed.TotalMilliseconds);
        json.WriteBoolean("hasBackup", result.HasBackup);
        json.WriteEndObject();
        await json.FlushAsync().ConfigureAwait(false);
    }
}
