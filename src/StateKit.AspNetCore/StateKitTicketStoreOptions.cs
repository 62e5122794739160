using System.Collections.Generic;
using System.Security.Claims;

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
