using System;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using StateKit.Caching;
using StateKit.DependencyInjection;
using StateKit.Memory;
using StateKit.Testing;

namespace StateKit.Tests.DependencyInjection;

public sealed class StateKitBuilderCachingExtensionsTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));

    [Fact]
    public async Task WithNearCache_ResolvedFromDi_ServesRepeatedLoadsFromL1()
    {
        CountingSessionStore? inner = null;
        var services = Services();
        services.AddStateKit(kit => kit.UseStore<InMemorySessionStoreOptions>("memory", null, (sp, o) => inner = new CountingSessionStore(new InMemorySessionStore(o, _time))).WithNearCache());
        await using var provider = services.BuildServiceProvider();
        var store = provider.GetRequiredService<ISessionStore>();
        var ticket = await CommitAsync(store, null, "a");

        var first = await store.LoadAsync(ticket);
        var second = await store.LoadAsync(ticket);
        var third = await store.LoadAsync(ticket);

        Assert.IsType<NearCacheSessionStore>(store);
        Assert.Equal(1, inner!.Loads);
        Assert.Same(first, second);
        Assert.Same(first, third);

        // A commit through the cache drops its entry: the next load reads the new version from the store.
        await CommitAsync(store, ticket, "b");
        Assert.Equal("b", Read(await store.LoadAsync(ticket)));
        Assert.Equal(2, inner.Loads);
    }

    [Fact]
    public async Task WithNearCache_RegisteredBus_IsTheOneItListensTo()
    {
        CountingSessionStore? inner = null;
        var bus = new InMemorySessionInvalidationBus();
        var services = Services();
        services.AddSingleton<ISessionInvalidationBus>(bus);
        services.AddStateKit(kit => kit.UseStore<InMemorySessionStoreOptions>("memory", null, (sp, o) => inner = new CountingSessionStore(new InMemorySessionStore(o, _time))).WithNearCache());
        await using var provider = services.BuildServiceProvider();
        var store = provider.GetRequiredService<ISessionStore>();
        var ticket = await CommitAsync(store, null, "a");
        await store.LoadAsync(ticket);
        await store.LoadAsync(ticket);

        bus.Reconnected();
        await store.LoadAsync(ticket);

        Assert.Equal(2, inner!.Loads);
    }

    [Fact]
    public async Task WithNearCache_NoBusRegistered_NearCachesInOneProcessHearEachOthersCommits()
    {
        var shared = new CountingSessionStore(new InMemorySessionStore(new InMemorySessionStoreOptions(), _time));
        var services = Services();
        services.AddStateKit(kit => kit
            .AddStore("a", s => s.UseStore<InMemorySessionStoreOptions>("memory", null, (_, _) => shared).WithNearCache())
            .AddStore("b", s => s.UseStore<InMemorySessionStoreOptions>("memory", null, (_, _) => shared).WithNearCache()));
        await using var provider = services.BuildServiceProvider();
        var stores = provider.GetRequiredService<SessionStores>();
        var a = stores.GetStore("a");
        var b = stores.GetStore("b");
        var ticket = await CommitAsync(a, null, "a");
        Assert.Equal("a", Read(await b.LoadAsync(ticket)));
        Assert.Equal("a", Read(await b.LoadAsync(ticket)));
        Assert.Equal(1, shared.Loads);

        var loaded = await a.LoadAsync(ticket);
        await CommitAsync(a, ticket, "b", loaded);

        Assert.Equal("b", Read(await b.LoadAsync(ticket)));
        Assert.Equal(3, shared.Loads);
    }

    [Fact]
    public async Task WithNearCache_InvalidOptions_FailStartupValidationWithEveryMessage()
    {
        var services = Services();
        services.AddStateKit(kit => kit.UseInMemory().WithNearCache(o =>
        {
            o.MaxEntries = 0;
            o.TimeToLive = TimeSpan.Zero;
        }));
        await using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        Assert.Equal(2, error.Failures.Count());
        Assert.Contains(error.Failures, f => f.Contains("MaxEntries", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains("TimeToLive", StringComparison.Ordinal));
    }

    [Fact]
    public void WithNearCache_BeforeAnyStore_SaysWhatToDo()
    {
        var services = new ServiceCollection();

        var error = Assert.Throws<InvalidOperationException>(() => services.AddStateKit(kit => kit.AddStore("x", s => s.WithNearCache())));

        Assert.Contains("UseInMemory", error.Message, StringComparison.Ordinal);
    }

    private ServiceCollection Services()
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_time);
        return services;
    }

    private static async Task<string> CommitAsync(ISessionStore store, string? ticket, string value, SessionSnapshot? loaded = null)
    {
        var result = await store.CommitAsync(new SessionCommit
        {
            Ticket = ticket,
            Base = loaded,
            Upserts = new System.Collections.Generic.Dictionary<string, ReadOnlyMemory<byte>> { ["k"] = Encoding.UTF8.GetBytes(value) },
        });
        Assert.Equal(SessionCommitOutcome.Committed, result.Outcome);
        return result.Ticket ?? ticket!;
    }

    private static string? Read(SessionSnapshot? snapshot)
        => snapshot is not null && snapshot.Values.TryGetValue("k", out var v) ? Encoding.UTF8.GetString(v.Span) : null;
}
