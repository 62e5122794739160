using System;

namespace StateKit.AspNetCore;

/// <summary>
/// Thrown into the handler's first write (or flush, or <c>StartAsync</c>) when the sessions could not be committed
/// before the response started. Nothing was sent: the middleware answers with the configured failure response. The
/// store's own exception is the inner exception.
/// </summary>
internal sealed class StateKitCommitFailedException(string store, StateKitException inner)
    : Exception($"The session of store '{store}' could not be saved before the response started, so the response was not sent.", inner)
{
    public string Store { get; } = store;

    public StateKitException Error { get; } = inner;
}
