using System;
using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace StateKit.AspNetCore;

/// <summary>
/// The operations that never conflict, on a key's JSON value: a counter (a number, or an object of numbers such as a
/// cart's quantity per SKU) and a set (an array of strings). Each returns the new value, or the reason it cannot apply.
/// </summary>
internal static class SyncMerges
{
    public const string WrongType = "type";
    public const string Overflow = "overflow";

    /// <summary>Adds to a counter. In an object a field that reaches 0 is dropped, so a cart line emptied by two devices disappears.</summary>
    public static string? Add(ReadOnlyMemory<byte>? current, string? field, long by, out byte[] result)
    {
        result = [];
        if (field is null)
        {
            long total = 0;
            if (current is { } bytes && !TryReadInteger(bytes.Span, out total))
            {
                return WrongType;
            }

            if (!TryAdd(total, by, out total))
            {
                return Overflow;
            }

            result = Encoding.UTF8.GetBytes(total.ToString(CultureInfo.InvariantCulture));
            return null;
        }

        using var document = current is { } existing ? Parse(existing) : null;
        if (current is not null && document?.RootElement.ValueKind != JsonValueKind.Object)
        {
            return WrongType;
        }

        long old = 0;
        if (document is not null && document.RootElement.TryGetProperty(field, out var found) && (found.ValueKind != JsonValueKind.Number || !found.TryGetInt64(out old)))
        {
            return WrongType;
        }

        if (!TryAdd(old, by, out var next))
        {
            return Overflow;
        }

        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            var written = false;
            if (document is not null)
            {
                foreach (var property in document.RootElement.EnumerateObject())
                {
                    if (property.NameEquals(field))
                    {
                        // A repeated name counts once: the first one holds the total.
                        if (!written && next != 0)
                        {
                            json.WriteNumber(field, next);
                        }

                        written = true;
                        continue;
                    }

                    property.WriteTo(json);
                }
            }

            if (!written && next != 0)
            {
                json.WriteNumber(field, next);
            }

            json.WriteEndObject();
        }

        result = buffer.WrittenSpan.ToArray();
        return null;
    }

    /// <summary>Adds a member to, or removes it from, a set kept as a JSON array; other elements stay as they are.</summary>
    public static string? ChangeSet(ReadOnlyMemory<byte>? current, string member, bool add, out byte[] result)
    {
        result = [];
        using var document = current is { } existing ? Parse(existing) : null;
        if (current is not null && document?.RootElement.ValueKind != JsonValueKind.Array)
        {
            return WrongType;
        }

        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            var present = false;
            if (document is not null)
            {
                foreach (var element in document.RootElement.EnumerateArray())
                {
                    var same = element.ValueKind == JsonValueKind.String && element.ValueEquals(member);
                    if (same && (!add || present))
                    {
                        continue;
                    }

                    present |= same;
                    element.WriteTo(json);
                }
            }

            if (add && !present)
            {
                json.WriteStringValue(member);
            }

            json.WriteEndArray();
        }

        result = buffer.WrittenSpan.ToArray();
        return null;
    }

    /// <summary>A merge delegate's value as the UTF-8 JSON the session stores.</summary>
    public static byte[] ToBytes(JsonNode value)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            value.WriteTo(json);
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

    private static JsonDocument? Parse(ReadOnlyMemory<byte> value)
    {
        try
        {
            return JsonDocument.Parse(value);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static bool TryReadInteger(ReadOnlySpan<byte> value, out long number)
    {
        number = 0;
        try
        {
            var reader = new Utf8JsonReader(value);
            return reader.Read() && reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out number) && !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static bool TryAdd(long a, long b, out long sum)
    {
        sum = unchecked(a + b);
        return !(((a ^ sum) & (b ^ sum)) < 0);
    }
}
