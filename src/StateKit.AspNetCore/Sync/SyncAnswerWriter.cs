using System.IO;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;

namespace StateKit.AspNetCore;

/// <summary>Writes a batch's answers: one per operation, and every key the batch named with its version and value now.</summary>
internal static class SyncAnswerWriter
{
    public static async Task WriteAsync(Stream body, SyncResult result, CancellationToken cancellationToken)
    {
        var values = new System.Collections.Generic.Dictionary<string, SyncKeyState>(System.StringComparer.Ordinal);
        foreach (var state in result.Keys)
        {
            values[state.Key] = state;
        }

        var json = new Utf8JsonWriter(body);
        await using (json.ConfigureAwait(false))
        {
            json.WriteStartObject();
            json.WriteStartArray("results");
            foreach (var answer in result.Answers)
            {
                json.WriteStartObject();
                json.WriteString("id", answer.Id);
                json.WriteString("status", answer.Status switch
                {
                    SyncStatus.Applied => "applied",
                    SyncStatus.Merged => "merged",
                    _ => "rejected",
                });
                json.WriteNumber("version", answer.Version);
                if (answer.Reason is not null)
                {
                    json.WriteString("reason", answer.Reason);
                }

                if (answer.Replayed)
                {
                    json.WriteBoolean("replayed", true);
                }

                // A rejected operation carries what the server holds instead, so the client can show it at once.
                if (answer.Status == SyncStatus.Rejected)
                {
                    var current = values[answer.Key];
                    json.WriteNumber("serverVersion", current.Version);
                    WriteValue(json, current);
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteStartObject("keys");
            foreach (var state in result.Keys)
            {
                json.WriteStartObject(state.Key);
                json.WriteNumber("version", state.Version);
                WriteValue(json, state);
                json.WriteEndObject();
            }

            json.WriteEndObject();
            json.WriteEndObject();
            await json.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    // An absent key has no "value"; a value that is not JSON (raw bytes a handler stored) is reported as such, not inlined.
    private static void WriteValue(Utf8JsonWriter json, SyncKeyState state)
    {
        if (state.Value is not { } value)
        {
            return;
        }

        if (SyncMerges.IsJson(value.Span))
        {
            json.WritePropertyName("value");
            json.WriteRawValue(value.Span, skipInputValidation: true);
        }
        else
        {
            json.WriteBoolean("valueIsNotJson", true);
        }
    }
}
