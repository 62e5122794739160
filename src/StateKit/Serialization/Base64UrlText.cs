using System;
using System.Buffers;

namespace StateKit.Serialization;

/// <summary>
/// Base64url text as StateKit's encoders write it. Compiled into each package that reads tickets (linked as source, not
/// shared through InternalsVisibleTo), so the packages stay independent.
/// </summary>
internal static class Base64UrlText
{
    /// <summary>The 64 characters of base64url.</summary>
    public static readonly SearchValues<char> Alphabet = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

    /// <summary>
    /// Accepts only the one encoding our encoder produces: the base64url alphabet, no padding, no whitespace, and zero
    /// unused bits in the last character. Without this, several strings would decode to the same bytes.
    /// </summary>
    public static bool IsCanonical(ReadOnlySpan<char> text)
    {
        // One vectorized scan for the alphabet; only the last character's unused bits need a look of their own.
        if (text.Length % 4 == 1 || text.ContainsAnyExcept(Alphabet))
        {
            return false;
        }

        if (text.IsEmpty)
        {
            return true;
        }

        var c = text[^1];
        var last = c switch
        {
            >= 'A' and <= 'Z' => c - 'A',
            >= 'a' and <= 'z' => c - 'a' + 26,
            >= '0' and <= '9' => c - '0' + 52,
            '-' => 62,
            _ => 63,
        };

        return (text.Length % 4) switch
        {
            2 => (last & 0x0F) == 0,
            3 => (last & 0x03) == 0,
            _ => true,
        };
    }
}
