using System;
using System.Collections.Generic;
using System.Text.Json;

namespace StateKit.AspNetCore;

/// <summary>
/// Reads and validates a whole batch before anything is applied, so a batch with one bad operation changes nothing.
/// Strict on purpose: an unknown or repeated property is an error, not something two parsers could read differently.
/// </summary>
internal static class SyncBatchReader
{
    /// <summary>How many errors one answer lists; a batch of garbage is not echoed back whole.</summary>
    internal const int MaxErrors = 20;

    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 64 };

    public static SyncBatch? Read(ReadOnlyMemory<byte> body, StateKitSyncOptions options, List<SyncBatchError> errors)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, DocumentOptions);
        }
        catch (JsonException e)
        {
            errors.Add(new(-1, "malformed-json", $"The body is not JSON: {e.Message}"));
            return null;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                errors.Add(new(-1, "not-an-object", "The body must be a JSON object: { \"operations\": [ ... ] }."));
                return null;
            }

            JsonElement? operationsElement = null;
            JsonElement? readElement = null;
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in root.EnumerateObject())
            {
                if (!seen.Add(property.Name))
                {
                    errors.Add(new(-1, "duplicate-property", $"The batch repeats the property '{Clip(property.Name)}'."));
                    continue;
                }

                switch (property.Name)
                {
                    case "operations":
                        operationsElement = property.Value;
                        break;
                    case "read":
                        readElement = property.Value;
                        break;
                    default:
                        errors.Add(new(-1, "unknown-property", $"The batch has an unknown property '{Clip(property.Name)}'; it may carry 'operations' and 'read'."));
                        break;
                }
            }

            var operations = ReadOperations(operationsElement, options, errors);
            var reads = ReadKeys(readElement, options, errors);
            return errors.Count == 0 ? new SyncBatch(operations, reads) : null;
        }
    }

    private static List<SyncOperation> ReadOperations(JsonElement? element, StateKitSyncOptions options, List<SyncBatchError> errors)
    {
        var operations = new List<SyncOperation>();
        if (element is not { } array)
        {
            errors.Add(new(-1, "missing-operations", "The batch has no 'operations' array (send [] to only read)."));
            return operations;
        }

        if (array.ValueKind != JsonValueKind.Array)
        {
            errors.Add(new(-1, "operations-not-array", "'operations' must be an array."));
            return operations;
        }

        var count = array.GetArrayLength();
        if (count > options.MaxOperations)
        {
            errors.Add(new(-1, "too-many-operations", $"The batch has {count} operations; the limit is {options.MaxOperations}. Send the rest in another batch."));
            return operations;
        }

        var ids = new HashSet<string>(StringComparer.Ordinal);
        var index = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (ReadOperation(index, item, options, errors) is { } operation)
            {
                if (!ids.Add(operation.Id))
                {
                    Add(errors, index, "duplicate-id", $"Operation id '{operation.Id}' appears twice in the batch.");
                }

                operations.Add(operation);
            }

            if (errors.Count >= MaxErrors)
            {
                break;
            }

            index++;
        }

        return operations;
    }

    private static List<string> ReadKeys(JsonElement? element, StateKitSyncOptions options, List<SyncBatchError> errors)
    {
        var keys = new List<string>();
        if (element is not { } array)
        {
            return keys;
        }

        if (array.ValueKind != JsonValueKind.Array || array.GetArrayLength() > options.Keys.Count)
        {
            errors.Add(new(-1, "bad-read", $"'read' must be an array of at most {options.Keys.Count} synced keys."));
            return keys;
        }

        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String || item.GetString() is not { } key || !options.Keys.ContainsKey(key))
            {
                errors.Add(new(-1, "key-not-allowed", $"'read' names {Describe(item)}, which is not a synced key."));
                continue;
            }

            keys.Add(key);
        }

        return keys;
    }

    private static SyncOperation? ReadOperation(int index, JsonElement item, StateKitSyncOptions options, List<SyncBatchError> errors)
    {
        if (item.ValueKind != JsonValueKind.Object)
        {
            Add(errors, index, "not-an-object", "An operation must be a JSON object.");
            return null;
        }

        string? id = null, key = null, op = null, field = null, member = null;
        long? baseVersion = null, at = null, by = null;
        byte[]? value = null;
        var before = errors.Count;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in item.EnumerateObject())
        {
            if (!seen.Add(property.Name))
            {
                Add(errors, index, "duplicate-property", $"The operation repeats the property '{Clip(property.Name)}'.");
                continue;
            }

            var v = property.Value;
            switch (property.Name)
            {
                case "id":
                    id = String(index, v, "id", StateKitSyncOptions.MaxOperationIdLength, errors);
                    if (id is not null && !IsIdText(id))
                    {
                        Add(errors, index, "bad-id", "'id' may hold only letters, digits, '-', '_', '.' and ':'.");
                        id = null;
                    }

                    break;
                case "key":
                    key = String(index, v, "key", 256, errors);
                    break;
                case "op":
                    op = String(index, v, "op", 16, errors);
                    break;
                case "baseVersion":
                    baseVersion = Integer(index, v, "baseVersion", 0, long.MaxValue, errors);
                    break;
                case "at":
                    at = Integer(index, v, "at", 0, long.MaxValue, errors);
                    break;
                case "by":
                    by = Integer(index, v, "by", long.MinValue, long.MaxValue, errors);
                    break;
                case "field":
                    field = String(index, v, "field", StateKitSyncOptions.MaxMemberLength, errors);
                    break;
                case "member":
                    member = String(index, v, "member", StateKitSyncOptions.MaxMemberLength, errors);
                    break;
                case "value":
                    var raw = v.GetRawText();
                    if (System.Text.Encoding.UTF8.GetByteCount(raw) > options.MaxValueBytes)
                    {
                        Add(errors, index, "value-too-large", $"The value is over MaxValueBytes ({options.MaxValueBytes} bytes of JSON).");
                    }
                    else
                    {
                        value = System.Text.Encoding.UTF8.GetBytes(raw);
                    }

                    break;
                default:
                    Add(errors, index, "unknown-property", $"Unknown property '{Clip(property.Name)}'.");
                    break;
            }
        }

        if (id is null && !seen.Contains("id"))
        {
            Add(errors, index, "missing-id", "The operation has no 'id'.");
        }

        if (key is null && !seen.Contains("key"))
        {
            Add(errors, index, "missing-key", "The operation has no 'key'.");
        }
        else if (key is not null && !options.Keys.ContainsKey(key))
        {
            Add(errors, index, "key-not-allowed", $"Key '{Clip(key)}' is not a synced key.");
        }

        if (baseVersion is null && !seen.Contains("baseVersion"))
        {
            Add(errors, index, "missing-base-version", "The operation has no 'baseVersion' (0 when the client never saw the key).");
        }

        SyncOperationKind? kind = op switch
        {
            "set" => SyncOperationKind.Set,
            "remove" => SyncOperationKind.Remove,
            "add" => SyncOperationKind.Add,
            "setAdd" => SyncOperationKind.SetAdd,
            "setRemove" => SyncOperationKind.SetRemove,
            _ => null,
        };
        if (kind is null)
        {
            Add(errors, index, "bad-op", "'op' must be one of set, remove, add, setAdd, setRemove.");
        }

        // Each kind takes exactly its own arguments: a stray one means the client and the server disagree on what it does.
        Require(index, kind == SyncOperationKind.Set, seen.Contains("value"), "value", errors);
        Require(index, kind == SyncOperationKind.Add, seen.Contains("by"), "by", errors);
        Require(index, kind is SyncOperationKind.SetAdd or SyncOperationKind.SetRemove, seen.Contains("member"), "member", errors);
        if (kind != SyncOperationKind.Add && seen.Contains("field"))
        {
            Add(errors, index, "unexpected-field", "'field' belongs to 'add' only.");
        }

        if (errors.Count > before || id is null || key is null || kind is null || baseVersion is null)
        {
            return null;
        }

        return new SyncOperation(id, key, kind.Value, baseVersion.Value)
        {
            At = at,
            Value = value,
            Field = field,
            By = by ?? 0,
            Member = member,
        };
    }

    private static void Require(int index, bool needed, bool present, string name, List<SyncBatchError> errors)
    {
        if (needed && !present)
        {
            Add(errors, index, "missing-" + name, $"The operation needs '{name}'.");
        }
        else if (!needed && present)
        {
            Add(errors, index, "unexpected-" + name, $"'{name}' does not belong to this operation.");
        }
    }

    private static string? String(int index, JsonElement value, string name, int maxLength, List<SyncBatchError> errors)
    {
        if (value.ValueKind != JsonValueKind.String || value.GetString() is not { Length: > 0 } text)
        {
            Add(errors, index, "bad-" + name, $"'{name}' must be a non-empty string.");
            return null;
        }

        if (text.Length > maxLength)
        {
            Add(errors, index, "bad-" + name, $"'{name}' is longer than {maxLength} characters.");
            return null;
        }

        return text;
    }

    private static long? Integer(int index, JsonElement value, string name, long min, long max, List<SyncBatchError> errors)
    {
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var number) || number < min || number > max)
        {
            Add(errors, index, "bad-" + name, min == 0 ? $"'{name}' must be a whole number, 0 or more." : $"'{name}' must be a whole number within 64 bits.");
            return null;
        }

        return number;
    }

    private static bool IsIdText(string id)
    {
        foreach (var c in id)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_' or '.' or ':'))
            {
                return false;
            }
        }

        return true;
    }

    private static void Add(List<SyncBatchError> errors, int index, string code, string detail)
    {
        if (errors.Count < MaxErrors)
        {
            errors.Add(new(index, code, detail));
        }
    }

    private static string Describe(JsonElement item) => item.ValueKind == JsonValueKind.String ? $"'{Clip(item.GetString()!)}'" : "a " + item.ValueKind.ToString().ToLowerInvariant();

    // Names from the request are echoed in the problem body: a few characters are enough to find the mistake.
    private static string Clip(string text) => text.Length <= 40 ? text : text[..40] + "…";
}
