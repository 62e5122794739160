using System;
using System.Collections.Generic;

namespace StateKit.Sticky;

/// <summary>
/// One key of a sticky ticket key ring: an HMAC-SHA256 secret and the id a ticket names it by, so that keys can rotate
/// while tickets signed with an older key stay valid.
/// </summary>
/// <remarks>
/// Every app node and every proxy that verifies tickets holds the same ring. To rotate: add the new key at the end of
/// every ring (it verifies, nothing signs with it yet), then move it to the front (it signs), then remove the old key
/// once the tickets it signed have expired (the store's absolute lifetime).
/// </remarks>
public sealed class StickyKey
{
    /// <summary>The fewest secret bytes accepted: the output size of SHA-256.</summary>
    public const int MinSecretLength = 32;

    /// <summary>Gets or sets the key's id, carried in every ticket it signs: 1 to 16 ASCII letters, digits, '-' or '_'.</summary>
    /// <value>The default value is an empty string, which is invalid: set it.</value>
    public string Id { get; set; } = string.Empty;

    /// <summary>
    /// Gets or sets the secret: at least <see cref="MinSecretLength"/> random bytes (configuration binds it from base64),
    /// e.g. <c>RandomNumberGenerator.GetBytes(32)</c>. Never log it.
    /// </summary>
    /// <value>The default value is an empty array, which is invalid: set it.</value>
#pragma warning disable CA1819 // Properties should not return arrays: configuration binds a base64 secret into byte[].
    public byte[] Secret { get; set; } = [];
#pragma warning restore CA1819

    /// <summary>Adds a message for every problem of a key ring, one each, saying how to fix it.</summary>
    internal static void Validate(IList<StickyKey>? keys, string property, ICollection<string> errors)
    {
        if (keys is null || keys.Count == 0)
        {
            errors.Add($"{property} must hold at least one key. Add one: {property}.Add(new StickyKey {{ Id = \"k1\", Secret = RandomNumberGenerator.GetBytes(32) }}), the same on every node and proxy.");
            return;
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            if (key is null)
            {
                errors.Add($"{property} holds a null key; remove it.");
                continue;
            }

            if (!StickyTicket.IsToken(key.Id, StickyTicket.MaxKeyIdLength))
            {
                errors.Add($"{property}: key id '{key.Id}' must be 1 to {StickyTicket.MaxKeyIdLength} ASCII letters, digits, '-' or '_'.");
            }
            else if (!seen.Add(key.Id))
            {
                errors.Add($"{property}: key id '{key.Id}' appears twice; every key needs its own id.");
            }

            if (key.Secret is null || key.Secret.Length < MinSecretLength)
            {
                errors.Add($"{property}: key '{key.Id}' has {key.Secret?.Length ?? 0} secret bytes; use at least {MinSecretLength} random bytes (RandomNumberGenerator.GetBytes(32)).");
            }
        }
    }
}
