using System;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace StateKit.DependencyInjection;

/// <summary>
/// The JSON options behind <see cref="StateSession.Get{T}(string)"/>, <see cref="StateSession.GetAsync{T}(string, System.Threading.CancellationToken)"/>
/// and <see cref="StateSession.Set{T}(string, T)"/>: one set for every store of the app, configured with
/// <see cref="StateKitBuilder.ConfigureJson"/>, the way <c>ConfigureHttpJsonOptions</c> configures minimal APIs.
/// </summary>
/// <remarks>
/// The defaults are <see cref="JsonSerializerDefaults.Web"/>. Where the app has reflection-based JSON (the JIT, unless
/// <c>JsonSerializerIsReflectionEnabledByDefault</c> is false) the resolver chain ends with the reflection resolver;
/// under native AOT and trimming it is empty, so every type must come from a <c>JsonSerializerContext</c> in the chain.
/// </remarks>
public sealed class StateKitJsonOptions
{
    /// <summary>Gets the serializer options. They become read-only when the first session resolves a type through them.</summary>
    public JsonSerializerOptions SerializerOptions { get; } = CreateDefault();

    /// <summary>Gets the options of sessions opened without any (<c>store.Open(ticket)</c>, <c>new StateSession(store, ticket)</c>).</summary>
    internal static JsonSerializerOptions Default { get; } = CreateDefault();

    /// <summary>Locks <paramref name="options"/> so that type lookups are cached (a mutable instance resolves every call anew).</summary>
    internal static void MakeReadOnly(JsonSerializerOptions options)
    {
        if (options.IsReadOnly)
        {
            return;
        }

        if (options.TypeInfoResolver is null)
        {
            if (!JsonSerializer.IsReflectionEnabledByDefault)
            {
                throw new InvalidOperationException(
                    "StateKit's JsonSerializerOptions have no TypeInfoResolver. Register your JsonSerializerContext: services.AddStateKit(kit => kit.ConfigureJson(o => o.TypeInfoResolverChain.Insert(0, AppJson.Default))).");
            }

            MakeReadOnlyWithReflection(options);
            return;
        }

        options.MakeReadOnly();
    }

    // As ASP.NET Core's JsonOptions: the reflection resolver only where the app enabled reflection-based JSON. Trimmed and
    // AOT apps set the feature switch to false, so the trimmer removes this call and nothing falls back to reflection there.
    private static JsonSerializerOptions CreateDefault() => new(JsonSerializerDefaults.Web)
    {
        TypeInfoResolver = JsonSerializer.IsReflectionEnabledByDefault ? CreateReflectionResolver() : JsonTypeInfoResolver.Combine(),
    };

    [UnconditionalSuppressMessage("Trimming", "IL2026:RequiresUnreferencedCode", Justification = "Called only when JsonSerializer.IsReflectionEnabledByDefault, a feature switch that trimmed and AOT apps turn off.")]
    [UnconditionalSuppressMessage("AOT", "IL3050:RequiresDynamicCode", Justification = "Called only when JsonSerializer.IsReflectionEnabledByDefault, a feature switch that trimmed and AOT apps turn off.")]
    private static DefaultJsonTypeInfoResolver CreateReflectionResolver() => new();

    [UnconditionalSuppressMessage("Trimming", "IL2026:RequiresUnreferencedCode", Justification = "Called only when JsonSerializer.IsReflectionEnabledByDefault, a feature switch that trimmed and AOT apps turn off.")]
    [UnconditionalSuppressMessage("AOT", "IL3050:RequiresDynamicCode", Justification = "Called only when JsonSerializer.IsReflectionEnabledByDefault, a feature switch that trimmed and AOT apps turn off.")]
    private static void MakeReadOnlyWithReflection(JsonSerializerOptions options) => options.MakeReadOnly(populateMissingResolver: true);
}
