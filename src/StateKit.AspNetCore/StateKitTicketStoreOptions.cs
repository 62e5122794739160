using System;
using System.Collections.Generic;
using System.Security.Claims;
using Microsoft.AspNetCore.Http;

namespace StateKit.AspNetCore;

/// <summary>How <see cref="StateKitTicketStore"/> keeps one cookie-authentication scheme's tickets.</summary>
public sealed class StateKitTicketStoreOptions
{
    /// <summary>
    /// Gets or sets the claim whose value is the user's stable id. Each sign-in's session is bound to it, and
    /// <see cref="StateKitTicketStore.RevokeUserAsync"/> takes it. A principal signing in without it is refused.
    /// </summary>
    /// <value>The default value is <see cref="ClaimTypes.NameIdentifier"/>.</value>
    public string UserIdClaimType { get; set; } = ClaimTypes.NameIdentifier;

    /// <summary>
    /// Gets or sets what each sign-in keeps with its session for a "where you're signed in" page
    /// (<see cref="ISessionLister.ListUserSessionsAsync"/>, <see cref="UserSessionInfo.Metadata"/>), from the sign-in request;
    /// <see langword="null"/> keeps nothing. At most 8 entries, keys up to 64 characters, values up to 512.
    /// </summary>
    /// <value>The default value is <see cref="UserAgentAndAddress"/>.</value>
    public Func<HttpContext, IReadOnlyDictionary<string, string>?>? SignInMetadata { get; set; } = UserAgentAndAddress;

    /// <summary>
    /// The default <see cref="SignInMetadata"/>: the request's <c>User-Agent</c> (cut to 512 characters) under
    /// <c>"userAgent"</c> and the client's address under <c>"address"</c>, each only when present.
    /// </summary>
    /// <param name="context">The sign-in request.</param>
    /// <returns>The metadata.</returns>
    public static IReadOnlyDictionary<string, string>? UserAgentAndAddress(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var metadata = new Dictionary<string, string>(2, StringComparer.Ordinal);
        var userAgent = context.Request.Headers.UserAgent.ToString();
        if (userAgent.Length > 0)
        {
            // A client picks its own User-Agent: cut it rather than refuse the sign-in.
            metadata["userAgent"] = userAgent.Length <= 512 ? userAgent : userAgent[..512];
        }

        if (context.Connection.RemoteIpAddress is { } address)
        {
            metadata["address"] = address.ToString();
        }

        return metadata;
    }

    internal IReadOnlyList<string> GetValidationErrors()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(UserIdClaimType))
        {
            errors.Add("UserIdClaimType must name a claim (was empty). Leave the default, ClaimTypes.NameIdentifier, or name the claim holding the user's id, e.g. \"sub\".");
        }

        return errors;
    }
}
