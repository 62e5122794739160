using System.Linq;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using StateKit.DependencyInjection;
using StateKit.Sticky;

namespace StateKit.Tests.Sticky;

public sealed class UseStickyTests
{
    [Fact]
    public async Task UseSticky_WithNamedBackup_SurvivesNodeLossAndDrainsOnHostStop()
    {
        var services = new ServiceCollection();
        services.AddDistributedMemoryCache();
        services.AddStateKit(kit => kit
            .UseSticky(o => { o.NodeId = "a"; o.Keys.Add(StickyTestKit.Key1); })
            .UseSticky(o => o.BackupStoreName = "backup")
            .AddStore("backup", b => b.UseDistributedCache()));
        await using var provider = services.BuildServiceProvider();
        var store = provider.GetRequiredService<ISessionStore>();
        var ticket = await StickyTestKit.CreateAsync(store, 1);
        await StickyTestKit.SetAsync(store, ticket, 2);

        var drains = provider.GetServices<IHostedService>().ToList();
        foreach (var drain in drains)
        {
            await drain.StopAsync(default);
        }

        Assert.True(store.Capabilities.SurvivesNodeLoss);
        Assert.Single(drains);
        var backup = provider.GetRequiredService<SessionStores>().GetStore("backup");
        var id = (await store.LoadAsync(ticket))!.Id;
        Assert.Equal(2, (await StickyTestKit.ReadAsync(backup, id)).Cart);
    }

    [Fact]
    public async Task UseSticky_WithoutNodeIdOrKeys_FailsAtStartListingBoth()
    {
        var services = new ServiceCollection();
        services.AddStateKit(kit => kit.UseSticky(_ => { }));
        await using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptionsMonitor<StickySessionStoreOptions>>().Get(SessionStores.DefaultName));

        Assert.Contains(error.Failures, f => f.Contains("NodeId", System.StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains("Keys", System.StringComparison.Ordinal));
    }
}
