using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Options;
using StateKit.DependencyInjection;
using StateKit.Testing;

namespace StateKit.AspNetCore.Tests;

/// <summary>The request's session resolves typed values through the options configured once with ConfigureJson.</summary>
public sealed class TypedValuesMiddlewareTests
{
    [Fact]
    public async Task InjectedSession_UsesTheOptionsConfiguredOnTheBuilder()
    {
        await using var app = await TestApp.StartAsync(
            kit => kit.UseInMemory().ConfigureJson(o => o.TypeInfoResolverChain.Insert(0, ContractJsonContext.Default)),
            Map);

        Assert.Equal("n=1", await app.Client.GetStringAsync("/count"));
        Assert.Equal("n=2", await app.Client.GetStringAsync("/count"));
        Assert.Equal("same", await app.Client.GetStringAsync("/options"));
    }

    [Fact]
    public async Task InjectedSession_TypeMissingFromTheOptions_FailsTheRequestNamingTheType()
    {
        await using var app = await TestApp.StartAsync(
            kit => kit.UseInMemory().ConfigureJson(o => o.TypeInfoResolver = ContractJsonContext.Default),
            Map);

        Assert.Equal("System.DateOnly", await app.Client.GetStringAsync("/missing"));
    }

    private static void Map(WebApplication app)
    {
        app.MapGet("/count", async (StateSession session) =>
        {
            var n = await session.GetAsync<int>("n");
            session.Set("n", n + 1);
            return "n=" + (n + 1);
        });
        app.MapGet("/options", (StateSession session, IOptions<StateKitJsonOptions> json)
            => ReferenceEquals(session.JsonOptions, json.Value.SerializerOptions) ? "same" : "different");
        app.MapGet("/missing", async (StateSession session) =>
        {
            try
            {
                await session.GetAsync<System.DateOnly>("when");
                return "no error";
            }
            catch (System.InvalidOperationException e) when (e.Message.Contains("System.DateOnly", System.StringComparison.Ordinal))
            {
                return "System.DateOnly";
            }
        });
    }
}
