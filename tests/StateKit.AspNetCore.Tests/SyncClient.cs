using System;
using System.Collections.Generic;
using System.Linq;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace StateKit.AspNetCore.Tests;

/// <summary>A sync client over a <see cref="CookieClient"/>: builds batches as the JavaScript module does and posts them.</summary>
internal sealed class SyncClient(CookieClient client, string path = "/statekit/sync")
{
    public CookieClient Client => client;

    public static JsonObject Add(string id, string key, string? field, long by, long baseVersion)
    {
        var op = new JsonObject { ["id"] = id, ["key"] = key, ["op"] = "add", ["by"] = by, ["baseVersion"] = baseVersion };
        if (field is not null)
        {
            op["field"] = field;
        }

        return op;
    }

    public static JsonObject Set(string id, string key, JsonNode? value, long baseVersion, long? at = null)
    {
        var op = new JsonObject { ["id"] = id, ["key"] = key, ["op"] = "set", ["value"] = value, ["baseVersion"] = baseVersion };
        if (at is not null)
        {
            op["at"] = at;
        }

        return op;
    }

    public static JsonObject Remove(string id, string key, long baseVersion)
        => new() { ["id"] = id, ["key"] = key, ["op"] = "remove", ["baseVersion"] = baseVersion };

    public static JsonObject SetMember(string id, string key, string member, bool add, long baseVersion)
        => new() { ["id"] = id, ["key"] = key, ["op"] = add ? "setAdd" : "setRemove", ["member"] = member, ["baseVersion"] = baseVersion };

    public static string Batch(params JsonObject[] operations) => new JsonObject { ["operations"] = new JsonArray(operations) }.ToJsonString();

    public static string Read(params string[] keys) => new JsonObject { ["operations"] = new JsonArray(), ["read"] = new JsonArray(keys.Select(k => (JsonNode?)k).ToArray()) }.ToJsonString();

    public Task<SyncReply> SendAsync(params JsonObject[] operations) => PostAsync(Batch(operations));

    public async Task<SyncReply> PostAsync(string body, string contentType = "application/json")
    {
        using var response = await client.SendAsync(HttpMethod.Post, path, r => r.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body))
        {
            Headers = { { "Content-Type", contentType } },
        });
        var text = await response.Content.ReadAsStringAsync();
        return new SyncReply((int)response.StatusCode, response.Content.Headers.ContentType?.MediaType, text.Length == 0 ? null : JsonNode.Parse(text))
        {
            CacheControl = response.Headers.CacheControl?.ToString(),
        };
    }

    /// <summary>Endpoints that read and write the session the way an app's own handlers do, around the sync endpoint.</summary>
    public static void MapHandlers(WebApplication app)
    {
        app.MapGet("/raw/{key}", async (string key, HttpContext context) =>
        {
            var session = context.GetStateSession();
            await session.LoadAsync();
            return session.TryGetBytes(key, out var bytes) ? Results.Text(Encoding.UTF8.GetString(bytes.Span)) : Results.NotFound();
        });
        app.MapPost("/handler/{key}", async (string key, HttpContext context) =>
        {
            using var reader = new System.IO.StreamReader(context.Request.Body);
            context.GetStateSession().SetBytes(key, Encoding.UTF8.GetBytes(await reader.ReadToEndAsync()));
            return Results.NoContent();
        });
    }

    public async Task<string?> RawAsync(string key)
    {
        using var response = await client.GetAsync("/raw/" + key);
        return response.IsSuccessStatusCode ? await response.Content.ReadAsStringAsync() : null;
    }

    public async Task WriteAroundAsync(string key, string json)
    {
        using var response = await client.SendAsync(HttpMethod.Post, "/handler/" + key, r => r.Content = new StringContent(json));
        response.EnsureSuccessStatusCode();
    }
}

/// <summary>A sync endpoint's answer: status, media type and body.</summary>
internal sealed record SyncReply(int HttpStatus, string? MediaType, JsonNode? Body)
{
    public string? CacheControl { get; init; }

    public JsonNode Result(int index) => Body!["results"]![index]!;

    public string Status(int index) => Result(index)["status"]!.GetValue<string>();

    public long Version(string key) => Body!["keys"]![key]!["version"]!.GetValue<long>();

    public string? Value(string key) => Body!["keys"]![key]!["value"]?.ToJsonString();

    public IEnumerable<string> ErrorCodes => Body?["errors"]?.AsArray().Select(e => e!["code"]!.GetValue<string>()) ?? [];
}
