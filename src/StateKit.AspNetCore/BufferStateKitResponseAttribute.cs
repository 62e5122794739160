using System;

namespace StateKit.AspNetCore;

/// <summary>
/// Marks an endpoint that must change its session after it has started writing: its whole response body is buffered (in
/// memory up to 32 KB, then in a temp file) and the sessions are committed after the handler, as
/// <see cref="StateKitHttpOptions.BufferResponseBody"/> does for every endpoint. Without it the body streams and the
/// sessions are committed when the response starts. Apply it as an attribute or with <c>.BufferStateKitResponse()</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = false, Inherited = true)]
public sealed class BufferStateKitResponseAttribute : Attribute;
