using System;
using System.Linq;
using System.Net.Http;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using StateKit.DependencyInjection;

namespace StateKit.AspNetCore.Tests;

/// <summary>
/// Issue 13 item 8: a response that sets, refreshes or clears a ticket is never stored by a shared cache (a CDN or proxy
/// would otherwise hand one user's ticket to the next), whichever transport carries the ticket.
/// </summary>
public sealed class StateKitFeatureTests
{
    [Theory]
    [InlineData(TicketTransport.Cookie)]
    [InlineData(TicketTransport.Header)]
    public async Task EveryResponseThatSetsOrRefreshesATicket_IsNoStore(TicketTransport transport)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = await TestApp.StartAsync(
            kit => TestStores.Configure("clientside", kit),
            Endpoints.Map,
            http => http.Transport = transport,
            services: s => s.AddSingleton<TimeProvider>(time));
        string? ticket = null;
        async Task<(HttpResponseMessage Response, bool SentTicket)> Send(HttpMethod method, string path)
        {
            var response = await app.Client.SendAsync(method, path, r =>
            {
                if (transport == TicketTransport.Header && ticket is not null)
                {
                    r.Headers.Add("StateKit-Ticket", ticket);
                }
            });
            var sent = transport == TicketTransport.Header ? response.Headers.Contains("StateKit-Ticket") : app.Client.LastSetCookies.Count > 0;
            if (transport == TicketTransport.Header && response.Headers.TryGetValues("StateKit-Ticket", out var next))
            {
                ticket = next.Single();
            }

            return (response, sent);
        }

        var created = await Send(HttpMethod.Post, "/set/cart/book");
        var unchanged = await Send(HttpMethod.Get, "/get/cart");
        time.Advance(TimeSpan.FromMinutes(6));
        var refreshed = await Send(HttpMethod.Get, "/get/cart");
        var rotated = await Send(HttpMethod.Post, "/rotate");
        var revoked = await Send(HttpMethod.Post, "/revoke");

        foreach (var (name, (response, sent)) in new[] { ("create", created), ("refresh", refreshed), ("rotate", rotated), ("revoke", revoked) })
        {
            Assert.True(sent, $"{name} sent no ticket, so it proves nothing");
            Assert.True(response.Headers.CacheControl?.NoStore == true, $"{name}: Cache-Control is '{response.Headers.CacheControl}'");
            response.Dispose();
        }

        // A response that carries no ticket stays cacheable as the app decides.
        Assert.False(unchanged.SentTicket);
        Assert.Null(unchanged.Response.Headers.CacheControl);
        unchanged.Response.Dispose();
    }
}
