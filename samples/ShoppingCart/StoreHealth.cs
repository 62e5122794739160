using System.Text.Json;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using StateKit;
using StateKit.AspNetCore;
using StateKit.Resilience;

namespace ShoppingCart;

/// <summary>
/// <c>GET /health</c>: the session store's health as an orchestrator or a load balancer would poll it. Behind a circuit
/// breaker it reports the breaker without touching the store (<c>"circuit": "Open"</c> during an outage); a bare store is
/// probed with one load.
/// </summary>
internal static class StoreHealth
{
    public static void Add(IServiceCollection services)
        => services.AddHealthChecks().Add(new HealthCheckRegistration(
            "statekit",
            sp => new SessionStoreHealthCheck(sp.GetRequiredService<ISessionStore>()),
            failureStatus: null,
            tags: null));

    public static void Map(IEndpointRouteBuilder app)
        => app.MapHealthChecks("/health", new HealthCheckOptions { ResponseWriter = WriteAsync }).DisableStateKit();

    // Status and the check's data (circuit state, journal depth, or the probe's outcome), written by hand: no reflection.
    private static async Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        await using var json = new Utf8JsonWriter(context.Response.Body);
        json.WriteStartObject();
        json.WriteString("status", report.Status.ToString());
        foreach (var entry in report.Entries.Values)
        {
            foreach (var (key, value) in entry.Data)
            {
                json.WriteString(key, value.ToString());
            }
        }

        json.WriteEndObject();
    }
}
