using System;

namespace StateKit;

/// <summary>The base of every exception StateKit throws on purpose.</summary>
public class StateKitException : Exception
{
    /// <summary>Initializes a new instance of the <see cref="StateKitException"/> class.</summary>
    public StateKitException()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="StateKitException"/> class.</summary>
    /// <param name="message">What went wrong and how to fix it.</param>
    public StateKitException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="StateKitException"/> class.</summary>
    /// <param name="message">What went wrong and how to fix it.</param>
    /// <param name="innerException">The cause.</param>
    public StateKitException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
