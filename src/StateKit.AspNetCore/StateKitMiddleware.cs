using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace StateKit.AspNetCore;

/// <summary>Gives each request its lazy sessions and commits them before the response leaves.</summary>
internal sealed class StateKitMiddleware(RequestDelegate next, StateKitHttpRuntime runtime)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<DisableStateKitAttribute>() is not null)
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        using var feature = new StateKitFeature(context, runtime);
        context.Features.Set(feature);
        if (context.Features.Get<ISessionFeature>() is null)
        {
            context.Features.Set<ISessionFeature>(feature);
        }

        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch
        {
            feature.Abandon();
            throw;
        }

        await feature.CompleteAsync().ConfigureAwait(false);
    }
}
