using System;
using System.Collections.Generic;
using Microsoft.Extensions.Options;

namespace StateKit.Caching;

/// <summary>How a <see cref="NearCacheSessionStore"/> keeps sessions in process memory.</summary>
public sealed class NearCacheOptions
{
    /// <summary>Gets or sets the name of the cached store in metrics and logs.</summary>
    /// <value>The default value is <see langword="null"/>: <c>near-cache</c>.</value>
    public string? Name { get; set; }

    /// <summary>Gets or sets how many sessions the cache holds; past it, the least recently used tenth is dropped.</summary>
    /// <value>The default value is 10 000.</value>
    public int MaxEntries { get; set; } = 10_000;

    /// <summary>
    /// Gets or sets how long an entry serves hits before the store is read again. It bounds staleness should an invalidation
    /// be lost, and how late the store's sliding idle deadline is refreshed; it is capped at half the session's idle timeout.
    /// </summary>
    /// <value>The default value is 30 seconds.</value>
    public TimeSpan TimeToLive { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Lists every invalid setting, one message each, saying how to fix it.</summary>
    /// <returns>The messages; empty when the options are valid.</returns>
    public IReadOnlyList<string> GetValidationErrors()
    {
        var errors = new List<string>();
        if (MaxEntries < 1)
        {
            errors.Add($"MaxEntries must be at least 1 (was {MaxEntries}).");
        }

        if (TimeToLive <= TimeSpan.Zero)
        {
            errors.Add($"TimeToLive must be positive (was {TimeToLive}). Set how long a cached session may serve hits, e.g. 30 seconds.");
        }

        return errors;
    }

    internal void ThrowIfInvalid()
    {
        OptionsValidation.ThrowIfAny(typeof(NearCacheOptions), GetValidationErrors());
    }
}
