using System;

namespace StateKit;

/// <summary>A store's backend could not be reached or failed. The operation's outcome is unknown to the caller, never silently dropped.</summary>
public class SessionStoreUnavailableException : StateKitException
{
    /// <summary>Initializes a new instance of the <see cref="SessionStoreUnavailableException"/> class.</summary>
    /// <param name="message">What failed.</param>
    /// <param name="innerException">The backend's own exception.</param>
    public SessionStoreUnavailableException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
