using System;
using System.Collections.Generic;

namespace StateKit.AspNetCore;

/// <summary>What the sync endpoint (<see cref="StateKitSyncExtensions.MapStateKitSync"/>) accepts, and how it settles conflicts.</summary>
public sealed class StateKitSyncOptions
{
    /// <summary>The session key under which the endpoint keeps each synced key's version and the operations it answered.</summary>
    public const string LedgerKey = "statekit.sync";

    internal const int DefaultMaxOperations = 100;
    internal const int DefaultMaxRequestBytes = 256 * 1024;
    internal const int DefaultMaxValueBytes = 16 * 1024;
    internal const int DefaultRememberedOperations = 256;
    internal const int DefaultMaxAttempts = 16;
    internal const int MaxOperationIdLength = 64;
    internal const int MaxMemberLength = 256;

    /// <summary>
    /// Gets the session keys clients may change through the endpoint, each with the policy that settles a conflicting
    /// <c>set</c> or <c>remove</c>. A batch naming any other key is refused whole (400): the endpoint never writes a key the
    /// app did not list here, such as the user a session is signed in as.
    /// </summary>
    /// <value>The default value is empty: list at least one key.</value>
    public IDictionary<string, SyncPolicy> Keys { get; } = new Dictionary<string, SyncPolicy>(StringComparer.Ordinal);

    /// <summary>Gets or sets the most operations one batch may carry; a client with more sends several batches.</summary>
    /// <value>The default value is 100.</value>
    public int MaxOperations { get; set; } = DefaultMaxOperations;

    /// <summary>Gets or sets the largest request body, in bytes; a larger one is refused (413) before it is parsed.</summary>
    /// <value>The default value is 262,144 (256 KB).</value>
    public int MaxRequestBytes { get; set; } = DefaultMaxRequestBytes;

    /// <summary>Gets or sets the largest value one <c>set</c> may carry, in bytes of JSON.</summary>
    /// <value>The default value is 16,384 (16 KB).</value>
    public int MaxValueBytes { get; set; } = DefaultMaxValueBytes;

    /// <summary>
    /// Gets or sets how many answered operation ids each session remembers, newest first, so that a batch sent again
    /// (a lost response, a second tab) changes nothing. It must be at least <see cref="MaxOperations"/>.
    /// </summary>
    /// <value>The default value is 256.</value>
    public int RememberedOperations { get; set; } = DefaultRememberedOperations;

    /// <summary>
    /// Gets or sets how many times a batch is applied again when another request committed the session in between; past
    /// that the endpoint answers 409 with nothing applied, and the client sends the batch again later.
    /// </summary>
    /// <value>The default value is 16.</value>
    public int MaxAttempts { get; set; } = DefaultMaxAttempts;

    internal IReadOnlyList<string> GetValidationErrors()
    {
        var errors = new List<string>();
        if (Keys.Count == 0)
        {
            errors.Add("Keys is empty: list the session keys clients may sync, e.g. o.Keys[\"cart\"] = SyncPolicy.LastWriterWins.");
        }

        foreach (var (key, policy) in Keys)
        {
            if (string.IsNullOrEmpty(key))
            {
                errors.Add("Keys holds an empty key.");
            }
            else if (string.Equals(key, LedgerKey, StringComparison.Ordinal))
            {
                errors.Add($"Keys must not hold '{LedgerKey}': the endpoint keeps its versions there.");
            }

            if (policy is null)
            {
                errors.Add($"Keys['{key}'] has no policy: use SyncPolicy.LastWriterWins, ServerWins, ClientWins or Merge(...).");
            }
        }

        if (MaxOperations < 1)
        {
            errors.Add($"MaxOperations must be at least 1 (was {MaxOperations}).");
        }

        if (MaxRequestBytes < 1024)
        {
            errors.Add($"MaxRequestBytes must be at least 1024 (was {MaxRequestBytes}).");
        }

        if (MaxValueBytes < 1 || MaxValueBytes > MaxRequestBytes)
        {
            errors.Add($"MaxValueBytes must be between 1 and MaxRequestBytes ({MaxRequestBytes}) (was {MaxValueBytes}).");
        }

        if (RememberedOperations < MaxOperations)
        {
            errors.Add($"RememberedOperations ({RememberedOperations}) must be at least MaxOperations ({MaxOperations}), or a batch could forget its own operations.");
        }

        if (MaxAttempts < 1)
        {
            errors.Add($"MaxAttempts must be at least 1 (was {MaxAttempts}).");
        }

        return errors;
    }
}
