using System;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StateKit.DependencyInjection;
using StateKit.Testing;

namespace StateKit.Tests.DependencyInjection;

public sealed class StateKitServiceCollectionExtensionsTests
{
    [Fact]
    public async Task AddStateKit_WithoutAChoice_RegistersAWorkingInMemoryStore()
    {
        await using var provider = new ServiceCollection().AddStateKitAndReturn(null).BuildServiceProvider();

        var store = provider.GetRequiredService<ISessionStore>();
        var session = store.Open(null);
        session.Set("n", 1, ContractJsonContext.Default.Int32);
        var result = await session.CommitAsync();

        Assert.Equal(StateLocation.Process, store.Capabilities.Location);
        Assert.Equal(1, await store.Open(result.Ticket).GetAsync("n", ContractJsonContext.Default.Int32));
        Assert.Same(store, provider.GetRequiredService<ISessionStore>());
    }

    [Fact]
    public async Task AddStateKit_InMemory_TheRegisteredStoreListsAUsersSessions()
    {
        await using var provider = new ServiceCollection().AddStateKitAndReturn(kit => kit.UseInMemory()).BuildServiceProvider();
        var store = provider.GetRequiredService<ISessionStore>();
        var session = store.Open(null);
        session.Set("n", 1, ContractJsonContext.Default.Int32);
        session.BindUser("ana");
        var ticket = (await session.CommitAsync()).Ticket!;

        // The registration wraps the store (metrics, events): the wrapper must still list, as its capabilities say.
        Assert.True(store.Capabilities.ListsUserSessions);
        var lister = Assert.IsAssignableFrom<ISessionLister>(store);
        var listed = Assert.Single((await lister.ListUserSessionsAsync("ana")).Sessions);
        Assert.Equal(SessionIds.ToPublicId(ticket), listed.PublicId);
        Assert.True(await lister.RevokeUserSessionAsync("ana", listed.PublicId));
        Assert.Null(await store.LoadAsync(ticket));
    }

    [Theory]
    [InlineData("")]
    [InlineData("carts")]
    public async Task AddStateKit_NearCacheAndCircuitBreakerOverInMemory_TheRegisteredStoreListsAndEndsASessionItHasCached(string name)
    {
        static void Configure(StateKitBuilder store) => store.UseInMemory().WithNearCache().WithCircuitBreaker();
        await using var provider = new ServiceCollection()
            .AddStateKitAndReturn(kit => _ = name.Length == 0 ? kit.UseInMemory().WithNearCache().WithCircuitBreaker() : kit.AddStore(name, Configure))
            .BuildServiceProvider();
        var store = name.Length == 0 ? provider.GetRequiredService<ISessionStore>() : provider.GetRequiredKeyedService<ISessionStore>(name);

        // Metrics wrapper over breaker over near cache over the store: every layer must pass listing through.
        await RegisteredListerChecks.ListsAndEndsASessionItHasCachedAsync(store);
    }

    [Fact]
    public async Task AddStateKit_DecoratorsOverAStoreThatCannotList_SayNoAndRefuseWithATypedError()
    {
        await using var provider = new ServiceCollection()
            .AddDistributedMemoryCache()
            .AddStateKitAndReturn(kit => kit.UseDistributedCache().WithNearCache().WithCircuitBreaker())
            .BuildServiceProvider();
        var store = provider.GetRequiredService<ISessionStore>();

        Assert.False(store.Capabilities.ListsUserSessions);
        var lister = Assert.IsAssignableFrom<ISessionLister>(store);
        await Assert.ThrowsAsync<NotSupportedException>(() => lister.ListUserSessionsAsync("ana").AsTask());
    }

    [Fact]
    public async Task AddStateKit_InvalidOptions_FailStartupValidationWithEveryMessage()
    {
        var services = new ServiceCollection();
        services.AddStateKit(kit => kit.UseInMemory(o =>
        {
            o.IdleTimeout = TimeSpan.FromMinutes(-1);
            o.MaxSessions = 0;
        }));
        await using var provider = services.BuildServiceProvider();

        // What IHost runs at start-up for ValidateOnStart.
        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        Assert.Equal(2, error.Failures.Count());
        Assert.Contains("IdleTimeout must be positive", error.Message, StringComparison.Ordinal);
        Assert.Contains("MaxSessions must be positive", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UseDistributedCache_WithoutACache_SaysWhatToRegister()
    {
        var services = new ServiceCollection();
        services.AddStateKit(kit => kit.UseDistributedCache());
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<ISessionStore>());

        Assert.Contains("AddDistributedMemoryCache", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UseDistributedCache_WithACache_RegistersTheDistributedStoreOnly()
    {
        var services = new ServiceCollection();
        services.AddDistributedMemoryCache();
        services.AddStateKit(kit => kit.UseInMemory().UseDistributedCache(o => o.KeyPrefix = "app:"));
        using var provider = services.BuildServiceProvider();

        Assert.Single(services, d => d.ServiceType == typeof(ISessionStore));
        Assert.Equal(StateLocation.Server, provider.GetRequiredService<ISessionStore>().Capabilities.Location);
    }
}

internal static class ServiceCollectionTestExtensions
{
    public static IServiceCollection AddStateKitAndReturn(this IServiceCollection services, Action<StateKitBuilder>? configure)
    {
        services.AddStateKit(configure);
        return services;
    }
}

public sealed class NamedStoreRegistrationTests
{
    [Fact]
    public async Task AddStore_RegistersAKeyedStoreWithItsOwnOptions()
    {
        var services = new ServiceCollection();
        services.AddDistributedMemoryCache();
        services.AddStateKit(kit => kit
            .UseInMemory(o => o.MaxPayloadBytes = 1_000)
            .AddStore("prefs", s => s.UseDistributedCache(o => o.MaxPayloadBytes = 2_000)));
        await using var provider = services.BuildServiceProvider();
        var stores = provider.GetRequiredService<SessionStores>();

        Assert.Equal(new[] { SessionStores.DefaultName, "prefs" }, stores.Names.Order().ToArray());
        Assert.Equal(1_000, stores.GetStore().Capabilities.MaxPayloadBytes);
        Assert.Equal(2_000, stores.GetStore("prefs").Capabilities.MaxPayloadBytes);
        Assert.Same(stores.GetStore("prefs"), provider.GetRequiredKeyedService<ISessionStore>("prefs"));
        Assert.Equal(StateLocation.Server, provider.GetRequiredKeyedService<ISessionStore>("prefs").Capabilities.Location);
    }

    [Fact]
    public void GetStore_UnknownName_ListsTheRegisteredOnes()
    {
        var services = new ServiceCollection();
        services.AddStateKit(kit => kit.AddStore("cart", s => s.UseInMemory()));
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<SessionStores>().GetStore("prefs"));

        Assert.Contains("cart", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("has space")]
    [InlineData("semi;colon")]
    [InlineData("")]
    public void AddStore_NameUnfitForACookie_IsRejected(string name)
    {
        var services = new ServiceCollection();

        Assert.ThrowsAny<ArgumentException>(() => services.AddStateKit(kit => kit.AddStore(name, s => s.UseInMemory())));
    }

    [Fact]
    public async Task AddStore_InvalidNamedOptions_FailStartupValidation()
    {
        var services = new ServiceCollection();
        services.AddStateKit(kit => kit.AddStore("prefs", s => s.UseInMemory(o => o.MaxSessions = 0)));
        await using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        Assert.Contains("MaxSessions", error.Message, StringComparison.Ordinal);
    }
}
