using System;
using StateKit.Caching;

namespace StateKit.Sticky;

/// <summary>
/// The bus message that one session of a user ended by its public id (revoked from the user's listing, or signed out by the
/// backup's session limit): only the public id is known, and each node finds its own copy through its user index.
/// </summary>
/// <remarks>
/// Carried as a deletion whose session id is <c>user-session:{publicId}:{userId}</c>: every bus carries it unchanged, a
/// near cache sharing the bus holds no entry under that id, and no session id (22 base64url characters) looks like it.
/// </remarks>
internal static class StickyUserSessionMessage
{
    private const string Prefix = "user-session:";
    private const int PublicIdLength = 32;

    public static SessionInvalidation Ended(string userId, string publicId)
        => new(string.Concat(Prefix, publicId, ":", userId), long.MaxValue);

    public static bool TryRead(in SessionInvalidation message, out string userId, out string publicId)
    {
        userId = publicId = string.Empty;
        var id = message.SessionId;
        if (message.Version != long.MaxValue || id is null || id.Length <= Prefix.Length + PublicIdLength + 1
            || !id.StartsWith(Prefix, StringComparison.Ordinal) || id[Prefix.Length + PublicIdLength] != ':')
        {
            return false;
        }

        publicId = id.Substring(Prefix.Length, PublicIdLength);
        userId = id[(Prefix.Length + PublicIdLength + 1)..];
        return UserSessionListing.IsPublicId(publicId);
    }
}
