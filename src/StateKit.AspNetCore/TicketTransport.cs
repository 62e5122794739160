namespace StateKit.AspNetCore;

/// <summary>How tickets travel between the client and the app.</summary>
public enum TicketTransport
{
    /// <summary>In HttpOnly cookies, split into chunks when a ticket is larger than one cookie holds.</summary>
    Cookie = 0,

    /// <summary>In a request header; the next ticket comes back in a response header of the same name. For APIs and non-browser clients.</summary>
    Header = 1,
}
