using System;
using System.Collections.Generic;
using System.IO;
using System.Text.Json;
using StackExchange.Redis;

namespace StateKit.Redis;

/// <summary>
/// The sign-in metadata of a session in its hash field <c>m:s</c>: a JSON object of strings, written by the create and
/// commit scripts with the bind, so that it follows the session through rotations (which copy every field).
/// </summary>
internal static class RedisSignInMetadata
{
    /// <summary>The commit's metadata, checked against the bounds, as JSON; '' when the commit binds no user or carries none.</summary>
    /// <exception cref="ArgumentException">The metadata is over the bounds (a <see cref="SessionCommit"/> built by hand).</exception>
    public static RedisValue Encode(SessionCommit commit)
    {
        if (commit.BindUserId is null || UserSessionListing.Validate(commit.SignInMetadata, nameof(commit)) is not { } metadata)
        {
            return string.Empty;
        }

        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            foreach (var (key, value) in metadata)
            {
                json.WriteString(key, value);
            }

            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>The metadata stored in <c>m:s</c>; empty when there is none or it is not what <see cref="Encode"/> writes.</summary>
    public static IReadOnlyDictionary<string, string> Decode(RedisValue stored)
    {
        if (stored.IsNullOrEmpty)
        {
            return UserSessionListing.NoMetadata;
        }

        try
        {
            using var document = JsonDocument.Parse((ReadOnlyMemory<byte>)stored);
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.Value.ValueKind == JsonValueKind.String && metadata.Count < UserSessionListing.MaxMetadataEntries)
                {
                    metadata[property.Name] = property.Value.GetString()!;
                }
            }

            return metadata;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // Written by hand into Redis, not by a store: show the session without metadata rather than fail the listing.
            return UserSessionListing.NoMetadata;
        }
    }
}
