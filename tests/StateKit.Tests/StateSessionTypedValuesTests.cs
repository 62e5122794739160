using System;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using StateKit.DependencyInjection;
using StateKit.Memory;
using StateKit.Testing;

namespace StateKit.Tests;

/// <summary>GetAsync&lt;T&gt;(key), Get&lt;T&gt;(key) and Set(key, value): type information from the options configured once.</summary>
public sealed class StateSessionTypedValuesTests
{
    private readonly CountingSessionStore _store = new(new InMemorySessionStore(new InMemorySessionStoreOptions(), new FakeTimeProvider()));

    [Fact]
    public async Task TypedValues_RoundTripThroughTheConfiguredContext()
    {
        var json = Options(ContractJsonContext.Default);
        var session = new StateSession(_store, null, json);
        session.Set("cart", new Cart("ana", [new CartLine("x", 2, 3m)]));
        session.Set("visits", 7);
        await session.CommitAsync();

        var reloaded = new StateSession(_store, session.Ticket, json);
        var cart = await reloaded.GetAsync<Cart>("cart");

        Assert.Equal("ana", cart!.Owner);
        Assert.Equal(2, Assert.Single(cart.Lines).Quantity);
        Assert.Equal(7, reloaded.Get<int>("visits"));
        Assert.Equal(0, reloaded.Get<int>("absent"));
        Assert.True(reloaded.TryGetBytes("cart", out var raw));
        Assert.Contains("\"owner\":\"ana\"", Encoding.UTF8.GetString(raw.Span), StringComparison.Ordinal);
        Assert.Same(json, reloaded.JsonOptions);
    }

    [Fact]
    public async Task TypedValues_WriteTheSameBytesAsTheJsonTypeInfoOverloads_UnderTheSameOptions()
    {
        // The context's own options are the serializer defaults; a context in another options' chain follows those
        // options instead (naming policy included), which is why ConfigureJson's web defaults write "owner".
        var cart = new Cart("ana", [new CartLine("x", 1, 2m)]);
        var session = new StateSession(_store, null, new JsonSerializerOptions { TypeInfoResolver = ContractJsonContext.Default });
        session.Set("typed", cart);
        session.Set("explicit", cart, ContractJsonContext.Default.Cart);
        await session.CommitAsync();

        var reloaded = _store.Open(session.Ticket);
        await reloaded.LoadAsync();

        Assert.True(reloaded.TryGetBytes("typed", out var typed));
        Assert.True(reloaded.TryGetBytes("explicit", out var explicitBytes));
        Assert.Equal(explicitBytes.ToArray(), typed.ToArray());
    }

    [Fact]
    public async Task MissingTypeInfo_ThrowsNamingTheTypeAndHowToRegisterIt_BeforeAnyIo()
    {
        var session = new StateSession(_store, await SeedAsync(), Options(ContractJsonContext.Default));

        var onSet = Assert.Throws<InvalidOperationException>(() => session.Set("when", new DateOnly(2026, 11, 29)));
        var onGet = await Assert.ThrowsAsync<InvalidOperationException>(() => session.GetAsync<DateOnly>("when").AsTask());

        foreach (var e in new[] { onSet, onGet })
        {
            Assert.Contains("System.DateOnly", e.Message, StringComparison.Ordinal);
            Assert.Contains("[JsonSerializable(typeof(DateOnly))]", e.Message, StringComparison.Ordinal);
            Assert.Contains("kit.ConfigureJson(o => o.TypeInfoResolverChain.Insert(0, AppJson.Default))", e.Message, StringComparison.Ordinal);
        }

        Assert.Equal(0, _store.Loads);
        Assert.False(session.HasChanges);
    }

    [Fact]
    public void EmptyResolverChain_NeverFallsBackToReflection()
    {
        // What an AOT app gets when it registers nothing: the reflection resolver is not in the chain.
        var json = new JsonSerializerOptions(JsonSerializerDefaults.Web) { TypeInfoResolver = JsonTypeInfoResolver.Combine() };
        var session = new StateSession(_store, null, json);

        var e = Assert.Throws<InvalidOperationException>(() => session.Set("n", 1));

        Assert.Contains("System.Int32", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ResolverChain_TheFirstResolverThatKnowsTheTypeWins()
    {
        var first = Renaming("first");
        var second = Renaming("second");
        var json = Options(second);
        json.TypeInfoResolverChain.Insert(0, first);

        var session = new StateSession(_store, null, json);
        session.Set("cart", new Cart("ana", []));

        Assert.True(session.TryGetBytes("cart", out var raw));
        Assert.Equal("{\"first\":\"ana\",\"lines\":[]}", Encoding.UTF8.GetString(raw.Span));
    }

    [Fact]
    public void ResolverChain_FallsThroughToTheNextResolverForTypesTheFirstLacks()
    {
        var json = Options(new DateOnlyOnly());
        json.TypeInfoResolverChain.Add(ContractJsonContext.Default);
        var session = new StateSession(_store, null, json);

        session.Set("n", 5);
        session.Set("when", new DateOnly(2026, 11, 29));

        Assert.Equal(5, session.Get<int>("n"));
        Assert.Equal(new DateOnly(2026, 11, 29), session.Get<DateOnly>("when"));
    }

    [Fact]
    public void ConfigureJson_ConfiguresOneSetOfOptionsForEveryStore()
    {
        var services = new ServiceCollection();
        services.AddStateKit(kit => kit
            .ConfigureJson(o => o.TypeInfoResolverChain.Insert(0, ContractJsonContext.Default))
            .AddStore("prefs", s => s.UseInMemory().ConfigureJson(o => o.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower)));
        using var provider = services.BuildServiceProvider();

        var json = provider.GetRequiredService<IOptions<StateKitJsonOptions>>().Value.SerializerOptions;

        Assert.Same(ContractJsonContext.Default, json.TypeInfoResolverChain[0]);
        Assert.Equal(JsonNamingPolicy.SnakeCaseLower, json.PropertyNamingPolicy);
    }

    [Fact]
    public async Task DefaultOptions_AreTheWebDefaults()
    {
        // Without ConfigureJson: web defaults; under the JIT the chain ends with the reflection resolver, as ASP.NET Core's.
        var session = _store.Open(null);
        session.Set("cart", new Cart("ana", []));
        await session.CommitAsync();

        var reloaded = _store.Open(session.Ticket);

        Assert.Equal("ana", (await reloaded.GetAsync<Cart>("cart"))!.Owner);
        Assert.True(reloaded.TryGetBytes("cart", out var raw));
        Assert.Contains("\"owner\"", Encoding.UTF8.GetString(raw.Span), StringComparison.Ordinal);
        Assert.Equal(JsonNamingPolicy.CamelCase, new StateKitJsonOptions().SerializerOptions.PropertyNamingPolicy);
    }

    private static JsonSerializerOptions Options(IJsonTypeInfoResolver resolver)
        => new(JsonSerializerDefaults.Web) { TypeInfoResolver = resolver };

    private static IJsonTypeInfoResolver Renaming(string ownerName)
        => ContractJsonContext.Default.WithAddedModifier(info =>
        {
            foreach (var property in info.Properties)
            {
                if (info.Type == typeof(Cart) && property.Name == "owner")
                {
                    property.Name = ownerName;
                }
            }
        });

    private async Task<string> SeedAsync()
    {
        var seed = _store.Open(null);
        seed.Set("a", 1, ContractJsonContext.Default.Int32);
        await seed.CommitAsync();
        return seed.Ticket!;
    }

    /// <summary>A resolver that knows only <see cref="DateOnly"/>, to show the chain asks the next one for the rest.</summary>
    private sealed class DateOnlyOnly : IJsonTypeInfoResolver
    {
        public JsonTypeInfo? GetTypeInfo(Type type, JsonSerializerOptions options)
            => type == typeof(DateOnly) ? JsonMetadataServices.CreateValueInfo<DateOnly>(options, JsonMetadataServices.DateOnlyConverter) : null;
    }
}
