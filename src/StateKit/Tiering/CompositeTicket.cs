using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;

namespace StateKit.Tiering;

/// <summary>
/// The composite ticket format, version 1: <c>v1</c>, then for each part in ordinal order of its name
/// <c>!name=ticket</c>, where the ticket escapes <c>%</c> as <c>%25</c> and <c>!</c> as <c>%21</c>. Names are ASCII letters,
/// digits, '-' and '_'. Every character is cookie-safe when the part tickets are; nothing else is escaped, so the usual
/// base64url and JWT tickets pass unchanged. Composite session ids use the same format with part ids.
/// </summary>
/// <remarks>
/// Linked as source into StateKit.AspNetCore, whose transport carries one cookie or header per part: the format stays
/// internal to StateKit's packages, and <see cref="ICompositeTicketStore"/> only says which parts a store has.
/// </remarks>
internal static class CompositeTicket
{
    public const string Version = "v1";

    /// <summary>Splits a composite ticket into its parts.</summary>
    /// <param name="ticket">The composite ticket, as a commit returned it.</param>
    /// <param name="partNames">The parts the store has.</param>
    /// <returns>Each part's ticket by part name; empty when the ticket is malformed or names an unknown part.</returns>
    public static Dictionary<string, string> Split(string ticket, IReadOnlyList<string> partNames)
        => TryParse(ticket, out var parts) && parts.Keys.All(partNames.Contains) ? parts : new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Joins the parts a client presented into the composite ticket the store loads.</summary>
    /// <param name="parts">Each part's ticket by part name. Parts with an empty ticket are left out.</param>
    /// <param name="partNames">The parts the store has.</param>
    /// <returns>The composite ticket, or <see langword="null"/> when there is no part at all.</returns>
    /// <exception cref="ArgumentException">A part name is not one of <paramref name="partNames"/>.</exception>
    public static string? Join(IReadOnlyDictionary<string, string> parts, IReadOnlyList<string> partNames)
    {
        ArgumentNullException.ThrowIfNull(parts);
        foreach (var name in parts.Keys.Where(n => !partNames.Contains(n)))
        {
            throw new ArgumentException($"'{name}' is not a tier of this store. Tiers: {string.Join(", ", partNames)}.", nameof(parts));
        }

        return Join(parts);
    }

    public static string? Join(IEnumerable<KeyValuePair<string, string>> parts)
    {
        var builder = new StringBuilder(Version);
        var any = false;
        foreach (var (name, ticket) in parts.Where(p => !string.IsNullOrEmpty(p.Value)).OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            builder.Append('!').Append(name).Append('=');
            foreach (var c in ticket)
            {
                _ = c switch
                {
                    '%' => builder.Append("%25"),
                    '!' => builder.Append("%21"),
                    _ => builder.Append(c),
                };
            }

            any = true;
        }

        return any ? builder.ToString() : null;
    }

    public static bool TryParse(string? value, out Dictionary<string, string> parts)
    {
        parts = new Dictionary<string, string>(StringComparer.Ordinal);
        if (value is null || !value.StartsWith(Version + "!", StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var segment in value[(Version.Length + 1)..].Split('!'))
        {
            var equals = segment.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0 || equals == segment.Length - 1)
            {
                return false;
            }

            var name = segment[..equals];
            if (!IsValidName(name) || !TryUnescape(segment.AsSpan(equals + 1), out var ticket) || !parts.TryAdd(name, ticket))
            {
                return false;
            }
        }

        return parts.Count > 0;
    }

    public static bool IsValidName(string name)
    {
        if (name.Length == 0)
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '-' || c == '_'))
            {
                return false;
            }
        }

        return true;
    }

    private static bool TryUnescape(ReadOnlySpan<char> escaped, out string value)
    {
        value = string.Empty;
        var builder = new StringBuilder(escaped.Length);
        for (var i = 0; i < escaped.Length; i++)
        {
            var c = escaped[i];
            if (c != '%')
            {
                builder.Append(c);
                continue;
            }

            if (i + 2 >= escaped.Length)
            {
                return false;
            }

            var code = escaped.Slice(i + 1, 2);
            if (code.SequenceEqual("25"))
            {
                builder.Append('%');
            }
            else if (code.SequenceEqual("21"))
            {
                builder.Append('!');
            }
            else
            {
                return false;
            }

            i += 2;
        }

        value = builder.ToString();
        return value.Length > 0;
    }
}
