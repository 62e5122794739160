using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace StateKit.AspNetCore;

/// <summary>
/// Gives each request its lazy sessions and commits them before the response leaves. A store that is unavailable,
/// during the commit or during a load in the handler, turns the request into the configured failure response.
/// </summary>
internal sealed class StateKitMiddleware(RequestDelegate next, StateKitHttpRuntime runtime)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<DisableStateKitAttribute>() is not null)
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        var buffer = runtime.Options.BufferResponseBody || context.GetEndpoint()?.Metadata.GetMetadata<BufferStateKitResponseAttribute>() is not null;
        using var feature = new StateKitFeature(context, runtime, buffer);
        context.Features.Set(feature);
        if (context.Features.Get<ISessionFeature>() is null)
        {
            context.Features.Set<ISessionFeature>(feature);
        }

        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (StateKitCommitFailedException e) when (!context.Response.HasStarted)
        {
            // The commit at the handler's first write failed; nothing was sent, so the failure response can still replace it.
            await feature.FailCommitAsync(e).ConfigureAwait(false);
            return;
        }
        catch (SessionStoreUnavailableException e) when (!context.Response.HasStarted)
        {
            // A store that could not load a session inside the handler is an outage, not an application bug: the client
            // gets the same answer (and the app the same hook) as for a commit that failed, not the app's 500 page.
            await feature.FailLoadAsync(e).ConfigureAwait(false);
            return;
        }
        catch
        {
            feature.Abandon();
            throw;
        }

        await feature.CompleteAsync().ConfigureAwait(false);
    }
}
