using System;
using System.Collections.Generic;
using Microsoft.Extensions.Options;

namespace StateKit;

/// <summary>Settings every store shares: expiry and payload limit.</summary>
public abstract class SessionStoreOptions
{
    /// <summary>Gets or sets the name metrics and traces tag this store with (<c>statekit.store</c>), to tell apart several stores of one kind.</summary>
    /// <value>The default value is <see langword="null"/>: the store's kind, such as <c>memory</c>.</value>
    public string? Name { get; set; }

    /// <summary>Gets or sets how long a session lives without being accessed. Every load and commit slides it.</summary>
    /// <value>The default value is 20 minutes.</value>
    public TimeSpan IdleTimeout { get; set; } = StateKitDefaults.IdleTimeout;

    /// <summary>Gets or sets the longest a session lives from its creation, however active it is.</summary>
    /// <value>The default value is 12 hours.</value>
    public TimeSpan AbsoluteLifetime { get; set; } = StateKitDefaults.AbsoluteLifetime;

    /// <summary>Gets or sets the largest serialized session, in bytes, a commit may produce.</summary>
    /// <value>The default value depends on the store.</value>
    public int MaxPayloadBytes { get; set; } = StateKitDefaults.MaxPayloadBytes;

    /// <summary>Lists every invalid setting, one message each, saying how to fix it.</summary>
    /// <returns>The messages; empty when the options are valid.</returns>
    public IReadOnlyList<string> GetValidationErrors()
    {
        var errors = new List<string>();
        CollectValidationErrors(errors);
        return errors;
    }

    /// <summary>Adds a message for each invalid setting. Overrides call the base first.</summary>
    /// <param name="errors">The list to add to.</param>
    protected virtual void CollectValidationErrors(ICollection<string> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (IdleTimeout <= TimeSpan.Zero)
        {
            errors.Add($"IdleTimeout must be positive (was {IdleTimeout}). Set it to how long a session may stay unused, e.g. 20 minutes.");
        }

        if (AbsoluteLifetime <= TimeSpan.Zero)
        {
            errors.Add($"AbsoluteLifetime must be positive (was {AbsoluteLifetime}). Set it to the longest a session may live, e.g. 12 hours.");
        }
        else if (AbsoluteLifetime < IdleTimeout)
        {
            errors.Add($"AbsoluteLifetime ({AbsoluteLifetime}) must not be shorter than IdleTimeout ({IdleTimeout}).");
        }

        if (MaxPayloadBytes <= 0)
        {
            errors.Add($"MaxPayloadBytes must be positive (was {MaxPayloadBytes}).");
        }
    }

    /// <summary>Throws one <see cref="OptionsValidationException"/> listing every invalid setting.</summary>
    internal void ThrowIfInvalid()
    {
        OptionsValidation.ThrowIfAny(GetType(), GetValidationErrors());
    }
}
