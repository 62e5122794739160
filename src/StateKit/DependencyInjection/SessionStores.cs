using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.Extensions.DependencyInjection;

namespace StateKit.DependencyInjection;

/// <summary>The stores registered with <c>AddStateKit</c>: the default one and each named one.</summary>
public sealed class SessionStores
{
    /// <summary>The name of the default store (the one registered as plain <see cref="ISessionStore"/>).</summary>
    public const string DefaultName = "";

    private readonly IServiceProvider _services;

    /// <summary>Initializes a new instance of the <see cref="SessionStores"/> class.</summary>
    /// <param name="services">The application's services.</param>
    /// <param name="names">The registered names, collected by <c>AddStateKit</c>.</param>
    internal SessionStores(IServiceProvider services, IEnumerable<StoreNameRegistration> names)
    {
        _services = services;
        Names = names.Select(n => n.Name).Distinct(StringComparer.Ordinal).ToArray();
    }

    /// <summary>Gets the name of every registered store, <see cref="DefaultName"/> included when a default store is registered.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>Gets a store by name.</summary>
    /// <param name="name">The store's name, or <see cref="DefaultName"/>.</param>
    /// <returns>The store.</returns>
    /// <exception cref="InvalidOperationException">No store of that name is registered.</exception>
    public ISessionStore GetStore(string name = DefaultName)
    {
        ArgumentNullException.ThrowIfNull(name);
        var store = name.Length == 0 ? _services.GetService<ISessionStore>() : _services.GetKeyedService<ISessionStore>(name);
        return store ?? throw new InvalidOperationException(
            $"No StateKit store named '{name}' is registered. Registered: {string.Join(", ", Names.Select(n => n.Length == 0 ? "(default)" : n))}. Add it with AddStateKit(kit => kit.AddStore(\"{name}\", s => s.UseInMemory())).");
    }

    internal static void Register(IServiceCollection services, string name)
    {
        if (!services.Any(d => d.ServiceType == typeof(StoreNameRegistration) && ((StoreNameRegistration?)d.ImplementationInstance)?.Name == name))
        {
            services.AddSingleton(new StoreNameRegistration(name));
        }
    }

    internal static void ValidateName(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '-' || c == '_'))
            {
                throw new ArgumentException($"Store name '{name}' may hold only ASCII letters, digits, '-' and '_': it becomes part of cookie and header names.", nameof(name));
            }
        }
    }

    internal sealed record StoreNameRegistration(string Name);
}
