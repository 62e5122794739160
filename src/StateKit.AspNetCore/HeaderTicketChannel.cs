using System;
using Microsoft.AspNetCore.Http;

namespace StateKit.AspNetCore;

/// <summary>
/// Tickets in a request header; the next one comes back in a response header of the same name.
/// An empty response header tells the client to drop its ticket.
/// </summary>
internal sealed class HeaderTicketChannel(StateKitHttpOptions options) : ITicketChannel
{
    public string? Read(HttpContext context, string storeName)
    {
        var value = context.Request.Headers[HeaderName(storeName)];
        return value.Count == 1 && !string.IsNullOrEmpty(value[0]) ? value[0] : null;
    }

    public void Write(HttpContext context, string storeName, string ticket, DateTimeOffset? expires)
        => context.Response.Headers[HeaderName(storeName)] = ticket;

    public void Delete(HttpContext context, string storeName)
        => context.Response.Headers[HeaderName(storeName)] = string.Empty;

    private string HeaderName(string storeName) => storeName.Length == 0 ? options.HeaderName : options.HeaderName + "-" + storeName;
}
