using System;
using System.Collections.Generic;
using System.Linq;

namespace StateKit.Tiering;

/// <summary>Which tier each session key belongs to: by exact name, by prefix, or by a typed state class; unmapped keys go to <see cref="DefaultTier"/>.</summary>
public sealed class TieredSessionStoreOptions
{
    private readonly Dictionary<string, string> _keys = new(StringComparer.Ordinal);
    private readonly List<KeyValuePair<string, string>> _prefixes = [];

    /// <summary>Gets or sets the tier of every key no mapping names.</summary>
    /// <value>The default value is <see langword="null"/>: required.</value>
    public string? DefaultTier { get; set; }

    /// <summary>Gets the exact key mappings.</summary>
    public IReadOnlyDictionary<string, string> Keys => _keys;

    /// <summary>Gets the prefix mappings; the longest matching prefix wins.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Prefixes => _prefixes;

    /// <summary>Puts one key in a tier. An exact mapping beats any prefix.</summary>
    /// <param name="key">The session key.</param>
    /// <param name="tier">The tier's name.</param>
    /// <returns>These options.</returns>
    public TieredSessionStoreOptions MapKey(string key, string tier)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentException.ThrowIfNullOrEmpty(tier);
        _keys[key] = tier;
        return this;
    }

    /// <summary>Puts every key starting with <paramref name="prefix"/> in a tier, e.g. <c>wizard:</c>.</summary>
    /// <param name="prefix">The key prefix (ordinal).</param>
    /// <param name="tier">The tier's name.</param>
    /// <returns>These options.</returns>
    public TieredSessionStoreOptions MapKeyPrefix(string prefix, string tier)
    {
        ArgumentException.ThrowIfNullOrEmpty(prefix);
        ArgumentException.ThrowIfNullOrEmpty(tier);
        _prefixes.RemoveAll(p => p.Key == prefix);
        _prefixes.Add(new(prefix, tier));
        return this;
    }

    /// <summary>
    /// Puts a typed state class in a tier. The class is stored under its type name, the convention
    /// <c>session.Set(nameof(Cart), cart, ...)</c> follows.
    /// </summary>
    /// <typeparam name="TState">The state class.</typeparam>
    /// <param name="tier">The tier's name.</param>
    /// <returns>These options.</returns>
    public TieredSessionStoreOptions MapType<TState>(string tier) => MapKey(typeof(TState).Name, tier);

    /// <summary>Lists every invalid setting against the tiers that exist, one message each.</summary>
    /// <param name="tiers">The names of the configured tiers.</param>
    /// <returns>The messages; empty when the options are valid.</returns>
    public IReadOnlyList<string> GetValidationErrors(IReadOnlyCollection<string> tiers)
    {
        ArgumentNullException.ThrowIfNull(tiers);
        var errors = new List<string>();
        if (tiers.Count == 0)
        {
            errors.Add("No tier is configured. Add at least one, e.g. AddTier(\"standard\", t => t.UseInMemory()).");
        }

        foreach (var tier in tiers.Where(t => !CompositeTicket.IsValidName(t)))
        {
            errors.Add($"Tier name '{tier}' may hold only ASCII letters, digits, '-' and '_': it becomes part of tickets and cookie names.");
        }

        if (DefaultTier is null)
        {
            errors.Add($"DefaultTier is not set. Choose the tier of unmapped keys, one of: {string.Join(", ", tiers)}.");
        }
        else if (!tiers.Contains(DefaultTier))
        {
            errors.Add($"DefaultTier '{DefaultTier}' is not a configured tier. Configured: {string.Join(", ", tiers)}.");
        }

        foreach (var (key, tier) in _keys.Where(k => !tiers.Contains(k.Value)))
        {
            errors.Add($"Key '{key}' is mapped to tier '{tier}', which is not configured. Configured: {string.Join(", ", tiers)}.");
        }

        foreach (var (prefix, tier) in _prefixes.Where(k => !tiers.Contains(k.Value)))
        {
            errors.Add($"Prefix '{prefix}' is mapped to tier '{tier}', which is not configured. Configured: {string.Join(", ", tiers)}.");
        }

        return errors;
    }

    internal string TierOf(string key)
    {
        if (_keys.TryGetValue(key, out var tier))
        {
            return tier;
        }

        string? best = null;
        var bestLength = -1;
        foreach (var (prefix, prefixTier) in _prefixes)
        {
            if (prefix.Length > bestLength && key.StartsWith(prefix, StringComparison.Ordinal))
            {
                best = prefixTier;
                bestLength = prefix.Length;
            }
        }

        return best ?? DefaultTier!;
    }
}
