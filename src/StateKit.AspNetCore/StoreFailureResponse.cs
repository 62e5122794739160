using System;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;

namespace StateKit.AspNetCore;

/// <summary>
/// The one answer a request gets when a store fails it before the response started: a session commit or load in the
/// middleware, or a cookie-authentication ticket the store could not read. One place, so every path answers alike.
/// </summary>
internal static class StoreFailureResponse
{
    /// <summary>Replaces the response with <see cref="StateKitHttpOptions.CommitFailureStatusCode"/> and the app's hook, or problem details.</summary>
    /// <param name="context">The request, whose response has not started.</param>
    /// <param name="options">The app's transport options (their defaults when it registered none).</param>
    /// <param name="error">What failed.</param>
    /// <param name="loading">Whether a read failed (a load, a ticket) rather than a commit.</param>
    public static async Task WriteAsync(HttpContext context, StateKitHttpOptions options, Exception error, bool loading)
    {
        var statusCode = options.CommitFailureStatusCode;
        context.Response.Clear();
        context.Response.StatusCode = statusCode;
        if (options.OnCommitFailure is { } onFailure)
        {
            await onFailure(context, error).ConfigureAwait(false);
            return;
        }

        await Results.Problem(
            statusCode: statusCode,
            title: loading ? "The session could not be loaded." : "The session could not be saved.",
            detail: error is SessionStoreUnavailableException
                ? "The session store is unavailable. Nothing was saved; try again shortly."
                : "The session could not be saved. Nothing was saved.",
            type: "https://statekit.dev/errors/" + error.GetType().Name)
            .ExecuteAsync(context).ConfigureAwait(false);
    }
}
