using System;
using System.Buffers;
using System.Collections.Generic;
using System.IO;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace StateKit.AspNetCore;

/// <summary>
/// The HTTP half of sync: bounds and reads the body, refuses a bad batch whole (a problem body, never a 500), and writes
/// the answers. What the batch does to the session is <see cref="SyncEngine"/>'s.
/// </summary>
internal sealed class SyncEndpoint(StateKitSyncOptions options, SyncEngine engine, string storeName)
{
    public async Task HandleAsync(HttpContext context)
    {
        var response = context.Response;
        response.Headers.CacheControl = "no-store";

        // JSON only: a cross-site form can post text/plain with the user's cookies, but not application/json without a
        // CORS preflight the app does not grant.
        if (!IsJson(context.Request.ContentType))
        {
            await SyncProblems.WriteAsync(response, StatusCodes.Status415UnsupportedMediaType, "unsupported-media-type", "A sync batch is sent as application/json.", []).ConfigureAwait(false);
            return;
        }

        var body = await ReadBodyAsync(context).ConfigureAwait(false);
        if (body is null)
        {
            await SyncProblems.WriteAsync(response, StatusCodes.Status413PayloadTooLarge, "batch-too-large", $"The batch is over MaxRequestBytes ({options.MaxRequestBytes} bytes). Send fewer operations per batch.", []).ConfigureAwait(false);
            return;
        }

        var errors = new List<SyncBatchError>();
        var batch = SyncBatchReader.Read(body.Value, options, errors);
        if (batch is null)
        {
            await SyncProblems.WriteAsync(response, StatusCodes.Status400BadRequest, "invalid-batch", "The batch is invalid; nothing was applied.", errors).ConfigureAwait(false);
            return;
        }

        SyncResult result;
        try
        {
            result = await engine.ApplyAsync(context.GetStateSession(storeName), batch, context.RequestAborted).ConfigureAwait(false);
        }
        catch (SyncContentionException e)
        {
            await SyncProblems.WriteAsync(response, StatusCodes.Status409Conflict, "contention", e.Message, []).ConfigureAwait(false);
            return;
        }
        catch (SessionPayloadTooLargeException e)
        {
            await SyncProblems.WriteAsync(response, StatusCodes.Status413PayloadTooLarge, "session-too-large", e.Message + " Nothing was applied.", []).ConfigureAwait(false);
            return;
        }

        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json";
        await SyncAnswerWriter.WriteAsync(response.Body, result, context.RequestAborted).ConfigureAwait(false);
    }

    private static bool IsJson(string? contentType)
        => MediaTypeHeaderValue.TryParse(contentType, out var media)
            && media.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            && (media.Charset.Length == 0 || media.Charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase));

    // The limit holds before the body is parsed, whatever Content-Length claims: a chunked body is counted as it comes.
    private async Task<ReadOnlyMemory<byte>?> ReadBodyAsync(HttpContext context)
    {
        var limit = options.MaxRequestBytes;
        if (context.Request.ContentLength > limit)
        {
            return null;
        }

        var buffer = new ArrayBufferWriter<byte>((int)Math.Min(context.Request.ContentLength ?? 4096, limit) + 1);
        var stream = context.Request.Body;
        while (true)
        {
            var memory = buffer.GetMemory(4096);
            int read;
            try
            {
                read = await stream.ReadAsync(memory, context.RequestAborted).ConfigureAwait(false);
            }
            catch (BadHttpRequestException)
            {
                // The server's own body limit, or a body that ended early: the batch never arrived whole.
                return ReadOnlyMemory<byte>.Empty;
            }
            catch (IOException)
            {
                return ReadOnlyMemory<byte>.Empty;
            }

            if (read == 0)
            {
                return buffer.WrittenMemory;
            }

            buffer.Advance(read);
            if (buffer.WrittenCount > limit)
            {
                return null;
            }
        }
    }
}
