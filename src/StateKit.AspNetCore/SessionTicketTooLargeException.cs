using System.Globalization;

namespace StateKit.AspNetCore;

/// <summary>A ticket is longer than <see cref="StateKitHttpOptions.MaxTicketLength"/>; it was not sent and the request failed.</summary>
public sealed class SessionTicketTooLargeException : StateKitException
{
    /// <summary>Initializes a new instance of the <see cref="SessionTicketTooLargeException"/> class.</summary>
    /// <param name="length">The ticket's length, in characters.</param>
    /// <param name="limit">The configured maximum.</param>
    public SessionTicketTooLargeException(int length, int limit)
        : base(string.Format(
            CultureInfo.InvariantCulture,
            "The session ticket is {0} characters, over MaxTicketLength ({1}); it was not sent. Keep less state in a client-held store, or raise MaxTicketLength (browsers keep about 4 KB per cookie and a limited number of cookies per site).",
            length,
            limit))
    {
        Length = length;
        Limit = limit;
    }

    /// <summary>Gets the ticket's length, in characters.</summary>
    public int Length { get; }

    /// <summary>Gets the configured maximum.</summary>
    public int Limit { get; }
}
