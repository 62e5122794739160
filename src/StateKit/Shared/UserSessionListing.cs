using System;
using System.Collections.Generic;

namespace StateKit;

/// <summary>What every <see cref="ISessionLister"/> checks the same way: page sizes, public ids and sign-in metadata.</summary>
internal static class UserSessionListing
{
    // "Small metadata": an account page shows a device and an address, not a profile. Bounded so that a client choosing its
    // own User-Agent cannot make each session of a user carry kilobytes.
    public const int MaxMetadataEntries = 8;
    public const int MaxMetadataKeyLength = 64;
    public const int MaxMetadataValueLength = 512;

    private static readonly System.Buffers.SearchValues<char> LowerHex = System.Buffers.SearchValues.Create("0123456789abcdef");

    public static readonly IReadOnlyDictionary<string, string> NoMetadata = new Dictionary<string, string>(0, StringComparer.Ordinal);

    /// <summary>The errors of a store's MaxSessionsPerUser and SessionLimitPolicy options.</summary>
    public static void CollectLimitErrors(int maxSessionsPerUser, UserSessionLimitPolicy policy, ICollection<string> errors)
    {
        if (maxSessionsPerUser < 0)
        {
            errors.Add($"MaxSessionsPerUser must be 0 (no limit) or positive (was {maxSessionsPerUser}).");
        }

        if (!Enum.IsDefined(policy))
        {
            errors.Add($"SessionLimitPolicy must be SignOutLeastRecentlyActive or RefuseNewSession (was {(int)policy}).");
        }
    }

    public static void ThrowIfBadPageSize(int pageSize)
    {
        if (pageSize is < 1 or > UserSessionPage.MaxPageSize)
        {
            throw new ArgumentOutOfRangeException(nameof(pageSize), pageSize, $"A page holds 1 to {UserSessionPage.MaxPageSize} sessions; follow ContinuationToken for more.");
        }
    }

    /// <summary>True when the text has the form <see cref="SessionIds.ToPublicId"/> gives: 32 lowercase hex digits.</summary>
    public static bool IsPublicId(string? text)
        => text is { Length: 32 } && !text.AsSpan().ContainsAnyExcept(LowerHex);

    /// <summary>A copy of the metadata, checked against the bounds; <see langword="null"/> for none.</summary>
    /// <exception cref="ArgumentException">Too many entries, or a key or value too long, or empty.</exception>
    public static IReadOnlyDictionary<string, string>? Validate(IReadOnlyDictionary<string, string>? metadata, string paramName)
    {
        if (metadata is null || metadata.Count == 0)
        {
            return null;
        }

        if (metadata.Count > MaxMetadataEntries)
        {
            throw new ArgumentException($"Sign-in metadata holds at most {MaxMetadataEntries} entries (got {metadata.Count}); keep it to what an account page shows.", paramName);
        }

        var copy = new Dictionary<string, string>(metadata.Count, StringComparer.Ordinal);
        foreach (var (key, value) in metadata)
        {
            if (string.IsNullOrEmpty(key) || key.Length > MaxMetadataKeyLength)
            {
                throw new ArgumentException($"A sign-in metadata key is 1 to {MaxMetadataKeyLength} characters (got '{key}').", paramName);
            }

            ArgumentNullException.ThrowIfNull(value, paramName);
            if (value.Length > MaxMetadataValueLength)
            {
                throw new ArgumentException($"The sign-in metadata value of '{key}' is {value.Length} characters; the limit is {MaxMetadataValueLength}. Truncate it first.", paramName);
            }

            copy[key] = value;
        }

        return copy;
    }
}
