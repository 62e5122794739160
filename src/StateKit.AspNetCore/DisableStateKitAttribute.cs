using System;

namespace StateKit.AspNetCore;

/// <summary>
/// Marks an endpoint that never uses session state (health checks, static content): StateKit gives it no session,
/// reads no ticket and buffers nothing. Apply it as an attribute or with <c>.DisableStateKit()</c> on the endpoint.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = false, Inherited = true)]
public sealed class DisableStateKitAttribute : Attribute;
