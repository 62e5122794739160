using System;
using Microsoft.AspNetCore.Http;

namespace StateKit.AspNetCore;

/// <summary>Reads the ticket a request carries for a store, and sends the next one (or tells the client to drop it).</summary>
internal interface ITicketChannel
{
    string? Read(HttpContext context, string storeName);

    void Write(HttpContext context, string storeName, string ticket, DateTimeOffset? expires);

    void Delete(HttpContext context, string storeName);
}
