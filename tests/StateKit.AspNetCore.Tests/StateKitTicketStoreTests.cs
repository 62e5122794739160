using System;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StateKit.DependencyInjection;
using StateKit.Memory;

namespace StateKit.AspNetCore.Tests;

/// <summary>The ticket store on the in-memory store, and what holds whatever the store.</summary>
public sealed class StateKitTicketStoreTests : StateKitTicketStoreContract
{
    protected override ISessionStore CreateStore(TimeProvider time)
        => new InMemorySessionStore(new InMemorySessionStoreOptions { IdleTimeout = IdleTimeout, AbsoluteLifetime = AbsoluteLifetime }, time);

    [Theory]
    [InlineData("clientside")]
    [InlineData("jwt")]
    public async Task ClientHeldStore_FailsTheAppAtStartUp_NamingTheFix(string store)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Services.AddStateKit(kit => kit.UseInMemory().AddStore("auth", s => TestStores.Configure(store, s)));
        builder.Services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme).AddCookie().UseStateKitTickets("auth");
        await using var app = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        Assert.Equal(typeof(CookieAuthenticationOptions), error.OptionsType);
        Assert.Contains("StateKit store 'auth' keeps it in the client's ticket", error.Message, StringComparison.Ordinal);
        Assert.Contains("server-held store", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServerHeldNamedStore_StartsAndIsTheSchemesSessionStore()
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.WebHost.UseTestServer();
        builder.Services.AddStateKit(kit => kit.UseClientSide(o => o.Keys.Add(new ClientSide.ClientSideKey(1, TestStores.SealKey))).AddStore("auth", s => s.UseInMemory()));
        builder.Services.AddAuthentication().AddCookie("shop").UseStateKitTickets("auth", "shop");
        await using var app = builder.Build();

        await app.StartAsync();

        var options = app.Services.GetRequiredService<IOptionsMonitor<CookieAuthenticationOptions>>().Get("shop");
        var tickets = Assert.IsType<StateKitTicketStore>(options.SessionStore);
        Assert.Equal("auth", tickets.StoreName);
        Assert.Same(tickets, app.Services.GetRequiredKeyedService<StateKitTicketStore>("shop"));
    }

    [Fact]
    public async Task UserIdClaimType_Configured_BindsTheSessionToThatClaim()
    {
        await using var app = await TicketApp.StartAsync(CreateStore, tickets: o => o.UserIdClaimType = "sub");
        using var client = app.NewClient();

        await client.PostAsync("/signin/ana?sub=user-0001");

        Assert.Equal("user-0001", app.Counter.LastCommit?.BindUserId);
        Assert.Equal(1, await app.Services.GetRequiredService<StateKitTicketStore>().RevokeUserAsync("user-0001"));
        Assert.Equal("(anonymous)", await client.GetStringAsync("/me"));
    }

    [Fact]
    public async Task SignIn_WithoutTheUserIdClaim_FailsNamingTheClaim_AndWritesNothing()
    {
        await using var app = await TicketApp.StartAsync(CreateStore, tickets: o => o.UserIdClaimType = "sub");
        using var client = app.NewClient();

        // The test server hands the app's exception to the caller.
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => client.PostAsync("/signin/ana"));

        Assert.Contains("no 'sub' claim", error.Message, StringComparison.Ordinal);
        Assert.Contains("UserIdClaimType", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, app.Counter.Commits);
    }

    [Fact]
    public async Task EmptyUserIdClaimType_FailsTheAppAtStartUp()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => TicketApp.StartAsync(CreateStore, tickets: o => o.UserIdClaimType = " "));

        Assert.Equal(typeof(StateKitTicketStoreOptions), error.OptionsType);
        Assert.Contains("UserIdClaimType must name a claim", error.Message, StringComparison.Ordinal);
    }
}
