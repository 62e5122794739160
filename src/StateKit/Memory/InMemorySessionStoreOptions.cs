using System.Collections.Generic;

namespace StateKit.Memory;

/// <summary>Settings of <see cref="InMemorySessionStore"/>.</summary>
public sealed class InMemorySessionStoreOptions : SessionStoreOptions
{
    /// <summary>Gets or sets the most sessions kept at once; past it the least recently used anonymous session is evicted, a user-bound one only when no other anonymous one is left.</summary>
    /// <value>The default value is 100,000.</value>
    public int MaxSessions { get; set; } = StateKitDefaults.InMemoryMaxSessions;

    /// <summary>
    /// Gets or sets the most bytes of session data kept at once (payload plus a fixed per-session overhead);
    /// past it the least recently used anonymous session is evicted, a user-bound one only when no other anonymous one is left.
    /// </summary>
    /// <value>The default value is 256 MiB.</value>
    public long MaxBytes { get; set; } = StateKitDefaults.InMemoryMaxBytes;

    /// <inheritdoc />
    protected override void CollectValidationErrors(ICollection<string> errors)
    {
        base.CollectValidationErrors(errors);
        if (MaxSessions <= 0)
        {
            errors.Add($"MaxSessions must be positive (was {MaxSessions}).");
        }

        if (MaxBytes <= 0)
        {
            errors.Add($"MaxBytes must be positive (was {MaxBytes}).");
        }
        else if (MaxBytes < MaxPayloadBytes)
        {
            errors.Add($"MaxBytes ({MaxBytes}) must be at least MaxPayloadBytes ({MaxPayloadBytes}), or one full session could never be stored.");
        }
    }
}
