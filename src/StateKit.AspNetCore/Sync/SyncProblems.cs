using System.Collections.Generic;
using System.Text.Json;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;

namespace StateKit.AspNetCore;

/// <summary>Writes the problem details (RFC 9457) the sync endpoint answers a refused batch with, errors listed per operation.</summary>
internal static class SyncProblems
{
    public const string TypePrefix = "https://statekit.dev/problems/sync/";

    public static async Task WriteAsync(HttpResponse response, int status, string code, string detail, IReadOnlyList<SyncBatchError> errors)
    {
        response.StatusCode = status;
        response.ContentType = "application/problem+json";
        var json = new Utf8JsonWriter(response.Body);
        await using (json.ConfigureAwait(false))
        {
            json.WriteStartObject();
            json.WriteString("type", TypePrefix + code);
            json.WriteString("title", Title(status));
            json.WriteNumber("status", status);
            json.WriteString("detail", detail);
            json.WriteString("code", code);
            if (errors.Count > 0)
            {
                json.WriteStartArray("errors");
                foreach (var error in errors)
                {
                    json.WriteStartObject();
                    if (error.Index >= 0)
                    {
                        json.WriteNumber("index", error.Index);
                    }

                    json.WriteString("code", error.Code);
                    json.WriteString("detail", error.Detail);
                    json.WriteEndObject();
                }

                json.WriteEndArray();
            }

            json.WriteEndObject();
            await json.FlushAsync(response.HttpContext.RequestAborted).ConfigureAwait(false);
        }
    }

    private static string Title(int status) => status switch
    {
        StatusCodes.Status400BadRequest => "The sync batch is invalid.",
        StatusCodes.Status409Conflict => "The sync batch met too much contention.",
        StatusCodes.Status413PayloadTooLarge => "The sync batch is too large.",
        StatusCodes.Status415UnsupportedMediaType => "The sync batch must be JSON.",
        _ => "The sync batch was refused.",
    };
}
