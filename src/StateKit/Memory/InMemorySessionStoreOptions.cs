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

    /// <summary>
    /// Gets or sets the most live sessions one user may have bound at once (<see cref="StateSession.BindUser(string)"/>), or
    /// 0 for no limit. What happens past it is <see cref="SessionLimitPolicy"/>.
    /// </summary>
    /// <value>The default value is 0 (no limit).</value>
    public int MaxSessionsPerUser { get; set; }

    /// <summary>Gets or sets what a sign-in past <see cref="MaxSessionsPerUser"/> does.</summary>
    /// <value>The default value is <see cref="UserSessionLimitPolicy.SignOutLeastRecentlyActive"/>.</value>
    public UserSessionLimitPolicy SessionLimitPolicy { get; set; }

    /// <inheritdoc />
    protected override void CollectValidationErrors(ICollection<string> errors)
    {
        base.CollectValidationErrors(errors);
        UserSessionListing.CollectLimitErrors(MaxSessionsPerUser, SessionLimitPolicy, errors);

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
