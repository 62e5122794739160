using System;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StateKit.DependencyInjection;
using StateKit.Resilience;
using StateKit.Tiering;

namespace StateKit.Tests.DependencyInjection;

public sealed class StateKitBuilderResilienceExtensionsTests
{
    [Fact]
    public async Task AddTier_WithBreakers_ResolvesATieredStoreOverGuardedTiers()
    {
        var services = new ServiceCollection();
        services.AddStateKit(kit => kit
            .AddTier("critical", t => t.UseInMemory().WithCircuitBreaker(b => b.Outage = OutagePolicy.FailFast))
            .AddTier("standard", t => t.UseInMemory().WithCircuitBreaker(b => b.Outage = OutagePolicy.FallbackWithJournal))
            .MapKey("cart", "critical")
            .MapKeyPrefix("ui:", "standard")
            .WithDefaultTier("standard"));
        await using var provider = services.BuildServiceProvider();

        var store = Assert.IsType<TieredSessionStore>(provider.GetRequiredService<ISessionStore>());
        var critical = Assert.IsType<ResilientSessionStore>(store.GetTier("critical"));

        Assert.Equal(OutagePolicy.FailFast, critical.Outage);
        Assert.Equal(OutagePolicy.FallbackWithJournal, Assert.IsType<ResilientSessionStore>(store.GetTier("standard")).Outage);
        Assert.Equal("critical", store.TierOf("cart"));
        Assert.Equal("standard", store.TierOf("other"));
        var session = store.Open(null);
        session.SetBytes("cart", "1"u8);
        var result = await session.CommitAsync();
        Assert.Equal(new[] { "critical" }, store.SplitTicket(result.Ticket!).Keys.ToArray());
    }

    [Fact]
    public void Options_Invalid_FailAtStartupWithOneMessagePerProblem()
    {
        var services = new ServiceCollection();
        services.AddStateKit(kit => kit
            .AddTier("critical", t => t.UseInMemory().WithCircuitBreaker(b =>
            {
                b.Timeout = TimeSpan.Zero;
                b.CircuitBreaker.MinimumThroughput = 0;
            }))
            .MapKey("cart", "gold"));
        using var provider = services.BuildServiceProvider();

        var tiering = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<TieredSessionStoreOptions>>().Value);
        var resilience = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptionsMonitor<ResilienceOptions>>().Get("critical"));

        Assert.Single(tiering.Failures);
        Assert.Contains("gold", tiering.Failures.Single(), StringComparison.Ordinal);
        Assert.Equal(2, resilience.Failures.Count());
    }

    [Fact]
    public void WithCircuitBreaker_BeforeAnyStore_SaysWhatToDo()
    {
        var services = new ServiceCollection();

        var error = Assert.Throws<InvalidOperationException>(() => services.AddStateKit(kit => kit.AddStore("x", s => s.WithCircuitBreaker())));

        Assert.Contains("UseInMemory", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WithCircuitBreaker_Twice_ConfiguresOneBreaker()
    {
        var services = new ServiceCollection();
        services.AddStateKit(kit => kit
            .UseInMemory()
            .WithCircuitBreaker(b => b.Timeout = TimeSpan.FromMilliseconds(300))
            .WithCircuitBreaker(b => b.Outage = OutagePolicy.Fallback));
        using var provider = services.BuildServiceProvider();

        // Before issue 14 the second call stacked a second ResilientSessionStore over the first.
        var store = Assert.IsType<ResilientSessionStore>(provider.GetRequiredService<ISessionStore>());
        Assert.IsNotType<ResilientSessionStore>(store.Primary);
        Assert.Equal(OutagePolicy.Fallback, store.Outage);
        Assert.Equal(TimeSpan.FromMilliseconds(300), provider.GetRequiredService<IOptionsMonitor<ResilienceOptions>>().Get(string.Empty).Timeout);
    }

    [Fact]
    public void WithoutCircuitBreaker_RemovesIt_AndALaterWithCircuitBreakerTurnsItBackOn()
    {
        var services = new ServiceCollection();
        services.AddStateKit(kit => kit
            .UseInMemory().WithCircuitBreaker().WithoutCircuitBreaker()
            .AddStore("again", s => s.UseInMemory().WithCircuitBreaker().WithoutCircuitBreaker().WithCircuitBreaker()));
        using var provider = services.BuildServiceProvider();
        var stores = provider.GetRequiredService<SessionStores>();

        Assert.IsNotType<ResilientSessionStore>(stores.GetStore());
        Assert.IsNotType<ResilientSessionStore>(Assert.IsType<ResilientSessionStore>(stores.GetStore("again")).Primary);
    }

    [Fact]
    public void UseStore_AfterABreaker_StartsUnguarded_AndANewBreakerGuardsTheNewStore()
    {
        var services = new ServiceCollection();
        services.AddStateKit(kit => kit.UseInMemory().WithCircuitBreaker().UseInMemory(o => o.Name = "second").WithCircuitBreaker());
        using var provider = services.BuildServiceProvider();

        var store = Assert.IsType<ResilientSessionStore>(provider.GetRequiredService<ISessionStore>());
        Assert.IsNotType<ResilientSessionStore>(store.Primary);
    }
}
