using System;
using System.Collections.Generic;

namespace StateKit.ClientSide;

/// <summary>Settings of <see cref="ClientSideSessionStore"/>.</summary>
public sealed class ClientSideSessionStoreOptions : SessionStoreOptions
{
    private string? _purpose;

    /// <summary>Initializes a new instance of the <see cref="ClientSideSessionStoreOptions"/> class with cookie-sized limits.</summary>
    public ClientSideSessionStoreOptions() => MaxPayloadBytes = StateKitDefaults.ClientSideMaxPayloadBytes;

    /// <summary>
    /// Gets the key ring. The key with the highest id seals; the others only open, so a retired key keeps its tickets
    /// readable until it is removed, and each ticket it opens is re-sealed with the current key on its next commit.
    /// </summary>
    /// <value>The default value is empty: set keys, a <see cref="KeyProvider"/>, or (in development only) <see cref="UseEphemeralDevelopmentKey"/>.</value>
    public IList<ClientSideKey> Keys { get; } = new List<ClientSideKey>();

    /// <summary>Gets or sets a source of further keys, read once when the store is built.</summary>
    /// <value>The default value is <see langword="null"/>; DI uses a registered <see cref="IClientSideKeyProvider"/> when there is one.</value>
    public IClientSideKeyProvider? KeyProvider { get; set; }

    /// <summary>
    /// Gets or sets a value indicating whether, when no key is configured, the store generates a random key that lives as
    /// long as the process. Every restart then signs everyone out, and nodes cannot read each other's tickets: for development only.
    /// </summary>
    /// <value>The default value is <see langword="false"/>: with no key, the store refuses to start.</value>
    public bool UseEphemeralDevelopmentKey { get; set; }

    /// <summary>
    /// Gets or sets what a ticket is bound to, through the cipher's associated data: a ticket sealed for one purpose never
    /// opens for another, even under the same key. Name the application, the store and the cookie, e.g. <c>shop/prefs/.prefs</c>.
    /// </summary>
    /// <value>
    /// The default value is <c>StateKit.ClientSide</c> for the default store, and <c>StateKit.ClientSide/</c> followed by
    /// the store's name for a store registered with <c>AddStore(name, ...)</c> or <c>AddTier(name, ...)</c>, so that two
    /// stores sharing a key never open each other's tickets.
    /// </value>
    public string Purpose
    {
        get => _purpose ?? StateKitDefaults.ClientSidePurpose;
        set => _purpose = value;
    }

    /// <summary>
    /// Gets or sets the longest ticket, in characters, a commit may produce and a load will try to open. A longer inbound ticket
    /// is rejected before it is decoded; a commit that would seal a longer one fails with <see cref="SessionPayloadTooLargeException"/>.
    /// </summary>
    /// <value>The default value is 4000: one cookie.</value>
    public int MaxTicketLength { get; set; } = StateKitDefaults.ClientSideMaxTicketLength;

    /// <summary>Gets or sets how sessions above <see cref="CompressionThresholdBytes"/> are compressed before sealing.</summary>
    /// <value>The default value is <see cref="ClientSideCompression.None"/>; see the remarks on <see cref="ClientSideCompression"/> before turning it on.</value>
    public ClientSideCompression Compression { get; set; }

    /// <summary>Gets or sets the serialized size, in bytes, from which a session is compressed.</summary>
    /// <value>The default value is 1024.</value>
    public int CompressionThresholdBytes { get; set; } = StateKitDefaults.ClientSideCompressionThresholdBytes;

    /// <summary>
    /// Gets or sets a server-side list of revoked session ids. Without it a sealed ticket stays valid until it expires,
    /// whatever the server does; with it, revocation, sign-out and id rotation kill old tickets, for one cache read per request.
    /// </summary>
    /// <value>The default value is <see langword="null"/>: no revocation (<see cref="SessionStoreCapabilities.Revocation"/> is <see cref="RevocationSupport.None"/>).</value>
    public ISessionDenyList? DenyList { get; set; }

    /// <summary>Gives a named store its own purpose unless one was set: the default store keeps the historical default, so its tickets stay readable.</summary>
    /// <param name="storeName">The store's name in DI; empty for the default store.</param>
    internal void DerivePurposeFromStoreName(string storeName)
    {
        if (_purpose is null && storeName.Length > 0)
        {
            _purpose = StateKitDefaults.ClientSidePurpose + "/" + storeName;
        }
    }

    /// <inheritdoc />
    protected override void CollectValidationErrors(ICollection<string> errors)
    {
        base.CollectValidationErrors(errors);
        if (string.IsNullOrWhiteSpace(Purpose))
        {
            errors.Add("Purpose must not be empty. Name the application, store and cookie the tickets belong to, e.g. \"shop/prefs/.prefs\".");
        }

        if (Keys.Count == 0 && KeyProvider is null && !UseEphemeralDevelopmentKey)
        {
            errors.Add(
                "The client-side store has no key. Add at least one to Keys (32 random bytes, base64; e.g. configuration "
                + "\"Keys\": [ { \"Id\": 1, \"Value\": \"<openssl rand -base64 32>\" } ]) or set KeyProvider. "
                + "For local development only, set UseEphemeralDevelopmentKey = true.");
        }

        CollectKeyErrors(Keys, errors);

        if (MaxTicketLength < MinTicketLength || MaxTicketLength > MaxTicketLengthCeiling)
        {
            errors.Add($"MaxTicketLength must be between {MinTicketLength} and {MaxTicketLengthCeiling} characters (was {MaxTicketLength}). One cookie holds about 4000.");
        }
        else if (Compression == ClientSideCompression.None && MaxPayloadBytes > 0 && ClientSideTicketFormat.SmallestTicketLength(MaxPayloadBytes) > MaxTicketLength)
        {
            errors.Add(
                $"MaxPayloadBytes ({MaxPayloadBytes}) can never be reached: a session that large seals to at least "
                + $"{ClientSideTicketFormat.SmallestTicketLength(MaxPayloadBytes)} characters, over MaxTicketLength ({MaxTicketLength}). "
                + "Lower MaxPayloadBytes or raise MaxTicketLength.");
        }

        if (!Enum.IsDefined(Compression))
        {
            errors.Add($"Compression must be None, Deflate or Brotli (was {(int)Compression}).");
        }

        if (CompressionThresholdBytes < 0)
        {
            errors.Add($"CompressionThresholdBytes must not be negative (was {CompressionThresholdBytes}).");
        }
    }

    /// <summary>Adds one message per bad key and per repeated id.</summary>
    internal static void CollectKeyErrors(IEnumerable<ClientSideKey> keys, ICollection<string> errors)
    {
        var seen = new HashSet<int>();
        foreach (var key in keys)
        {
            if (key is null)
            {
                errors.Add("Keys must not contain null.");
                continue;
            }

            if (key.GetValidationError() is { } error)
            {
                errors.Add(error);
            }

            if (!seen.Add(key.Id))
            {
                errors.Add($"Client-side key id {key.Id} appears more than once. Give every key its own id; the highest seals.");
            }
        }
    }

    // Below this not even an empty session fits; above it a "ticket" is no longer something a client should carry.
    private const int MinTicketLength = 128;
    private const int MaxTicketLengthCeiling = 1024 * 1024;
}
