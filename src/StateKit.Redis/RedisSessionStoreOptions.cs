using System;
using System.Collections.Generic;
using StackExchange.Redis;

namespace StateKit.Redis;

/// <summary>Settings of <see cref="RedisSessionStore"/>.</summary>
public sealed class RedisSessionStoreOptions : SessionStoreOptions
{
    /// <summary>
    /// Gets or sets the StackExchange.Redis configuration string (e.g. <c>localhost:6379,abortConnect=false</c>), used when the
    /// store is not given an <see cref="IConnectionMultiplexer"/>. Timeouts set here (<c>connectTimeout</c>,
    /// <c>asyncTimeout</c>) bound how long an operation waits before failing with <see cref="SessionStoreUnavailableException"/>.
    /// </summary>
    /// <value>The default value is <see langword="null"/>: use the <see cref="IConnectionMultiplexer"/> registered in DI.</value>
    public string? Configuration { get; set; }

    /// <summary>
    /// Gets or sets the prefix of every Redis key the store writes, so that several apps (or environments) share one Redis.
    /// It must not contain <c>{</c> or <c>}</c>: the store puts the session id in a hash tag of its own.
    /// </summary>
    /// <value>The default value is <c>statekit:</c>.</value>
    public string KeyPrefix { get; set; } = RedisDefaults.KeyPrefix;

    /// <summary>
    /// Gets or sets what a <see cref="SessionCommitMode.MergeKeys"/> commit from a stale version does about a key that
    /// another request also changed since it loaded. Keys only one side changed are always merged.
    /// </summary>
    /// <value>The default value is <see cref="KeyConflictPolicy.LastWriterWins"/>.</value>
    public KeyConflictPolicy KeyConflictPolicy { get; set; } = KeyConflictPolicy.LastWriterWins;

    /// <inheritdoc />
    protected override void CollectValidationErrors(ICollection<string> errors)
    {
        base.CollectValidationErrors(errors);
        if (KeyPrefix is null)
        {
            errors.Add("KeyPrefix must not be null; use an empty string for no prefix.");
        }
        else if (KeyPrefix.AsSpan().IndexOfAny('{', '}') >= 0)
        {
            errors.Add($"KeyPrefix must not contain '{{' or '}}' (was '{KeyPrefix}'): the store adds the session id as the key's cluster hash tag. Use e.g. 'myapp:'.");
        }

        if (!Enum.IsDefined(KeyConflictPolicy))
        {
            errors.Add($"KeyConflictPolicy {(int)KeyConflictPolicy} is not defined. Use KeyConflictPolicy.LastWriterWins or KeyConflictPolicy.Conflict.");
        }

        if (!string.IsNullOrWhiteSpace(Configuration))
        {
            try
            {
                ConfigurationOptions.Parse(Configuration);
            }
            catch (ArgumentException e)
            {
                errors.Add($"Configuration is not a valid StackExchange.Redis configuration string: {e.Message} Example: 'localhost:6379,abortConnect=false'.");
            }
        }
    }
}
