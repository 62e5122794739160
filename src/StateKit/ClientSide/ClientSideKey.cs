using System;
using System.Security.Cryptography;

namespace StateKit.ClientSide;

/// <summary>
/// One AES-256 key of a <see cref="ClientSideSessionStore"/>'s key ring: an id carried in every ticket it seals, and
/// 32 secret bytes. Binds from configuration, e.g. <c>"Keys": [ { "Id": 2, "Value": "&lt;base64&gt;" } ]</c>.
/// </summary>
/// <remarks>The key with the highest <see cref="Id"/> seals; every other key only opens tickets it sealed earlier.</remarks>
public sealed class ClientSideKey
{
    /// <summary>The length of a key, in bytes: AES-256.</summary>
    public const int KeySizeInBytes = 32;

    /// <summary>Initializes a new instance of the <see cref="ClientSideKey"/> class, for configuration binding.</summary>
    public ClientSideKey()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="ClientSideKey"/> class.</summary>
    /// <param name="id">The key's id, unique in the ring; a higher id is a newer key.</param>
    /// <param name="material">The key's 32 secret bytes.</param>
    public ClientSideKey(int id, ReadOnlySpan<byte> material)
    {
        Id = id;
        Value = Convert.ToBase64String(material);
    }

    /// <summary>Gets or sets the key's id: non-negative, unique in the ring, written into every ticket the key seals.</summary>
    public int Id { get; set; }

    /// <summary>Gets or sets the key's 32 secret bytes, base64-encoded. Keep it in a secret store, never in source control.</summary>
    public string? Value { get; set; }

    /// <summary>Creates a key of 32 bytes from the operating system's CSPRNG.</summary>
    /// <param name="id">The new key's id; give it a higher id than every key in the ring so that it seals.</param>
    /// <returns>The key.</returns>
    public static ClientSideKey Generate(int id)
    {
        Span<byte> material = stackalloc byte[KeySizeInBytes];
        RandomNumberGenerator.Fill(material);
        var key = new ClientSideKey(id, material);
        CryptographicOperations.ZeroMemory(material);
        return key;
    }

    /// <summary>Decodes <see cref="Value"/>, or returns <see langword="null"/> when it is not 32 bytes of base64.</summary>
    internal byte[]? TryGetMaterial()
    {
        if (string.IsNullOrWhiteSpace(Value))
        {
            return null;
        }

        var buffer = new byte[((Value.Length + 3) / 4) * 3];
        if (!Convert.TryFromBase64String(Value, buffer, out var written) || written != KeySizeInBytes)
        {
            return null;
        }

        return buffer.AsSpan(0, KeySizeInBytes).ToArray();
    }

    /// <summary>Lists what is wrong with this key, if anything.</summary>
    internal string? GetValidationError()
    {
        if (Id < 0)
        {
            return $"Client-side key {Id}: Id must be zero or positive.";
        }

        return TryGetMaterial() is null
            ? $"Client-side key {Id}: Value must be exactly {KeySizeInBytes} bytes, base64-encoded (generate one with ClientSideKey.Generate or `openssl rand -base64 32`)."
            : null;
    }
}
