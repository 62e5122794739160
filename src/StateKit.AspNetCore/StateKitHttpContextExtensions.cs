using System;
using Microsoft.AspNetCore.Http;
using StateKit.DependencyInjection;

namespace StateKit.AspNetCore;

/// <summary>Reaches the request's StateKit sessions.</summary>
public static class StateKitHttpContextExtensions
{
    /// <summary>
    /// Gets the request's session in a store. It loads on first read (<see cref="StateSession.LoadAsync"/> or
    /// <c>GetAsync</c>) and commits when the handler returns, before the response is sent.
    /// </summary>
    /// <param name="context">The request.</param>
    /// <param name="storeName">The store's name; <see cref="SessionStores.DefaultName"/> for the default store.</param>
    /// <returns>The session; the same instance for every call in one request.</returns>
    /// <exception cref="InvalidOperationException"><c>UseStateKit()</c> is not in the pipeline, or the endpoint disabled StateKit.</exception>
    public static StateSession GetStateSession(this HttpContext context, string storeName = SessionStores.DefaultName)
    {
        ArgumentNullException.ThrowIfNull(context);
        var feature = context.Features.Get<StateKitFeature>() ?? throw new InvalidOperationException(
            "No StateKit session in this request. Add app.UseStateKit() to the pipeline (after routing, before the endpoints), and do not mark the endpoint with DisableStateKit.");
        return feature.GetSession(storeName);
    }
}
