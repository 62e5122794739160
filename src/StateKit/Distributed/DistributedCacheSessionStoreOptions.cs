using System.Collections.Generic;

namespace StateKit.Distributed;

/// <summary>Settings of <see cref="DistributedCacheSessionStore"/>.</summary>
public sealed class DistributedCacheSessionStoreOptions : SessionStoreOptions
{
    /// <summary>Gets or sets the prefix of every cache key, so that several apps can share one cache.</summary>
    /// <value>The default value is <c>statekit:</c>.</value>
    public string KeyPrefix { get; set; } = StateKitDefaults.DistributedCacheKeyPrefix;

    /// <inheritdoc />
    protected override void CollectValidationErrors(ICollection<string> errors)
    {
        base.CollectValidationErrors(errors);
        if (KeyPrefix is null)
        {
            errors.Add("KeyPrefix must not be null; use an empty string for no prefix.");
        }
    }
}
