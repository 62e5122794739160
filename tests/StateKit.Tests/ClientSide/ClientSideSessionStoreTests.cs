using System;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using StateKit.ClientSide;
using StateKit.DependencyInjection;
using StateKit.Testing;

namespace StateKit.Tests.ClientSide;

public sealed class ClientSideSessionStoreTests
{
    [Fact]
    public void Constructor_NoKey_FailsWithAMessageThatSaysHowToFixIt()
    {
        var error = Assert.Throws<OptionsValidationException>(() => new ClientSideSessionStore(new ClientSideSessionStoreOptions()));

        Assert.Contains("has no key", error.Message, StringComparison.Ordinal);
        Assert.Contains("UseEphemeralDevelopmentKey", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GetValidationErrors_EveryProblem_OneMessageEach()
    {
        var options = new ClientSideSessionStoreOptions { Purpose = " ", MaxTicketLength = 500, MaxPayloadBytes = 1000, CompressionThresholdBytes = -1 };
        options.Keys.Add(new ClientSideKey { Id = 1, Value = Convert.ToBase64String(new byte[16]) });
        options.Keys.Add(ClientSideTestKeys.Key(2));
        options.Keys.Add(ClientSideTestKeys.Key(2));

        var errors = options.GetValidationErrors();

        Assert.Equal(5, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("Purpose", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("key 1: Value must be exactly 32 bytes", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("id 2 appears more than once", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("can never be reached", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("CompressionThresholdBytes", StringComparison.Ordinal));
    }

    [Fact]
    public void Defaults_FitOneCookieAndValidateOnceAKeyIsSet()
    {
        var options = new ClientSideSessionStoreOptions();
        options.Keys.Add(ClientSideKey.Generate(1));

        Assert.Empty(options.GetValidationErrors());
        Assert.Equal(4000, options.MaxTicketLength);
        Assert.Equal(ClientSideCompression.None, options.Compression);
    }

    [Fact]
    public async Task Constructor_EphemeralKeyAskedFor_WorksAndWarns()
    {
        var logger = new FakeLogger<ClientSideSessionStore>();
        var store = new ClientSideSessionStore(new ClientSideSessionStoreOptions { UseEphemeralDevelopmentKey = true }, null, logger);

        var session = store.Open(null);
        session.Set("n", 1, ContractJsonContext.Default.Int32);
        await session.CommitAsync();

        Assert.Equal(1, await store.Open(session.Ticket).GetAsync("n", ContractJsonContext.Default.Int32));
        var warning = Assert.Single(logger.Collector.GetSnapshot(), r => r.Level == LogLevel.Warning);
        Assert.Equal(20, warning.Id.Id);
    }

    [Fact]
    public async Task Capabilities_SayRevocationOnlyWithADenyList()
    {
        var store = new ClientSideSessionStore(ClientSideTestKeys.ContractOptions());

        Assert.Equal(StateLocation.Client, store.Capabilities.Location);
        Assert.Equal(ConcurrencyGuarantee.LastWriterWins, store.Capabilities.Concurrency);
        Assert.True(store.Capabilities.SurvivesNodeLoss);
        Assert.Equal(RevocationSupport.None, store.Capabilities.Revocation);
        var error = await Assert.ThrowsAsync<NotSupportedException>(async () => await store.RevokeAsync("x"));
        Assert.Contains("DenyList", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UseClientSide_NoKey_FailsAtStartUp()
    {
        var services = new ServiceCollection();
        services.AddStateKit(kit => kit.UseClientSide(o => o.Purpose = "app"));
        await using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        Assert.Contains("has no key", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UseClientSide_KeyProviderInDI_CountsAsAKeySource()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IClientSideKeyProvider>(new FixedKeys());
        services.AddStateKit(kit => kit.UseClientSide(o => o.Purpose = "app"));
        await using var provider = services.BuildServiceProvider();
        provider.GetRequiredService<IStartupValidator>().Validate();

        var store = provider.GetRequiredService<ISessionStore>();
        var session = store.Open(null);
        session.Set("n", 5, ContractJsonContext.Default.Int32);
        await session.CommitAsync();

        Assert.Equal(StateLocation.Client, store.Capabilities.Location);
        Assert.Equal(5, await store.Open(session.Ticket).GetAsync("n", ContractJsonContext.Default.Int32));
    }

    [Fact]
    public async Task UseClientSide_TwoNamedStoresShareAKey_NeitherOpensTheOthersTickets()
    {
        var services = new ServiceCollection();
        services.AddStateKit(kit => kit
            .UseClientSide(o => o.Keys.Add(ClientSideTestKeys.Key(1)))
            .AddStore("prefs", s => s.UseClientSide(o => o.Keys.Add(ClientSideTestKeys.Key(1))))
            .AddStore("wizard", s => s.UseClientSide(o => o.Keys.Add(ClientSideTestKeys.Key(1)))));
        await using var provider = services.BuildServiceProvider();
        provider.GetRequiredService<IStartupValidator>().Validate();
        var stores = provider.GetRequiredService<SessionStores>();

        var tickets = new System.Collections.Generic.Dictionary<string, string>();
        foreach (var name in new[] { SessionStores.DefaultName, "prefs", "wizard" })
        {
            var session = stores.GetStore(name).Open(null);
            session.Set("n", 5, ContractJsonContext.Default.Int32);
            await session.CommitAsync();
            tickets[name] = session.Ticket!;
        }

        foreach (var (sealedBy, ticket) in tickets)
        {
            foreach (var name in tickets.Keys)
            {
                var loaded = await stores.GetStore(name).LoadAsync(ticket);
                Assert.True((loaded is not null) == (name == sealedBy), $"a ticket of store '{sealedBy}' loaded in store '{name}': {loaded is not null}");
            }
        }

        // The default store keeps the historical default, so tickets it issued before stay readable.
        var options = provider.GetRequiredService<IOptionsMonitor<ClientSideSessionStoreOptions>>();
        Assert.Equal(StateKitDefaults.ClientSidePurpose, options.Get(SessionStores.DefaultName).Purpose);
        Assert.Equal(StateKitDefaults.ClientSidePurpose + "/prefs", options.Get("prefs").Purpose);
    }

    [Fact]
    public async Task UseClientSide_PurposeSetExplicitly_IsKeptInANamedStore()
    {
        var services = new ServiceCollection();
        services.AddStateKit(kit => kit.AddStore("prefs", s => s.UseClientSide(o =>
        {
            o.Keys.Add(ClientSideTestKeys.Key(1));
            o.Purpose = "shop/prefs/.prefs";
        })));
        await using var provider = services.BuildServiceProvider();

        Assert.Equal("shop/prefs/.prefs", provider.GetRequiredService<IOptionsMonitor<ClientSideSessionStoreOptions>>().Get("prefs").Purpose);
    }

    private sealed class FixedKeys : IClientSideKeyProvider
    {
        public System.Collections.Generic.IReadOnlyCollection<ClientSideKey> GetKeys() => [ClientSideTestKeys.Key(3)];
    }
}
