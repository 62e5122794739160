using System;
using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace StateKit.AspNetCore;

/// <summary>
/// The operations that never conflict, on a key's JSON value: a counter (a number, or an object of numbers such as a
/// cart's quantity per SKU) and a set (an array of strings). Each changes the value in place, or returns why it cannot.
/// </summary>
internal static class SyncMerges
{
    public const string WrongType = "type";
    public const string Overflow = "overflow";

    /// <summary>Adds to a counter. In an object a field that reaches 0 is dropped, so a cart line emptied by two devices disappears.</summary>
    public static string? Add(SyncValue value, string? field, long by)
    {
        JsonNode? node = null;
        if (value.Exists && !value.TryGetNode(out node))
        {
            return WrongType;
        }

        try
        {
            if (field is null)
            {
                long total = 0;
                if (value.Exists && (node is not JsonValue number || number.GetValueKind() != JsonValueKind.Number || !number.TryGetValue(out total)))
                {
                    return WrongType;
                }

                if (!TryAdd(total, by, out total))
                {
                    return Overflow;
                }

                value.Changed(JsonValue.Create(total));
                return null;
            }

            var counters = value.Exists ? node as JsonObject : [];
            if (counters is null)
            {
                return WrongType;
            }

            long old = 0;
            if (counters[field] is { } existing && (existing is not JsonValue current || current.GetValueKind() != JsonValueKind.Number || !current.TryGetValue(out old)))
            {
                return WrongType;
            }

            if (!TryAdd(old, by, out var next))
            {
                return Overflow;
            }

            if (next == 0)
            {
                counters.Remove(field);
            }
            else
            {
                counters[field] = next;
            }

            value.Changed(counters);
            return null;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException)
        {
            // An object with a repeated property name, or a number outside 64 bits: not a counter this endpoint can trust.
            return WrongType;
        }
    }

    /// <summary>Adds a member to, or removes it from, a set kept as a JSON array; other elements stay as they are.</summary>
    public static string? ChangeSet(SyncValue value, string member, bool add)
    {
        JsonNode? node = null;
        if (value.Exists && !value.TryGetNode(out node))
        {
            return WrongType;
        }

        var members = value.Exists ? node as JsonArray : [];
        if (members is null)
        {
            return WrongType;
        }

        var present = false;
        for (var i = 0; i < members.Count; i++)
        {
            var same = members[i] is JsonValue element && element.GetValueKind() == JsonValueKind.String && element.GetValue<string>() == member;
            if (same && (!add || present))
            {
                members.RemoveAt(i--);
                continue;
            }

            present |= same;
        }

        if (add && !present)
        {
            members.Add((JsonNode?)JsonValue.Create(member));
        }

        value.Changed(members);
        return null;
    }

    /// <summary>A value as the UTF-8 JSON the session stores (<c>null</c> for a JSON null).</summary>
    public static byte[] ToBytes(JsonNode? value)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            if (value is null)
            {
                json.WriteNullValue();
            }
            else
            {
                value.WriteTo(json);
            }
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Whether stored bytes are one JSON value: what the answer may carry as "value" without breaking its own JSON.</summary>
    public static bool IsJson(ReadOnlySpan<byte> value)
    {
        try
        {
            var reader = new Utf8JsonReader(value);
            if (!reader.Read())
            {
                return false;
            }

            reader.Skip();
            return !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static bool TryAdd(long a, long b, out long sum)
    {
        sum = unchecked(a + b);
        return ((a ^ sum) & (b ^ sum)) >= 0;
    }
}
