using System;
using StateKit.Caching;
using StateKit.Events;

namespace StateKit.Sticky;

/// <summary>
/// The bus message that one session of a user ended by its public id (revoked from the user's listing, or signed out by the
/// backup's session limit): only the public id is known, and each node finds its own copy through its user index.
/// </summary>
/// <remarks>
/// Carried as a deletion whose session id is <c>user-session:{publicId}:{userId}</c> (<c>user-session-limit:</c> for a
/// sign-out by the limit, so that the owner reports it with its reason): every bus carries it unchanged, a near cache
/// sharing the bus holds no entry under that id, and no session id (22 base64url characters) looks like it.
/// </remarks>
internal static class StickyUserSessionMessage
{
    private const string RevokedPrefix = "user-session:";
    private const string LimitPrefix = "user-session-limit:";
    private const int PublicIdLength = 32;

    public static SessionInvalidation Ended(string userId, string publicId, SessionEventReason reason)
        => new(string.Concat(reason == SessionEventReason.SessionLimit ? LimitPrefix : RevokedPrefix, publicId, ":", userId), long.MaxValue);

    public static bool TryRead(in SessionInvalidation message, out string userId, out string publicId, out SessionEventReason reason)
    {
        userId = publicId = string.Empty;
        var id = message.SessionId;
        var prefix = id?.StartsWith(LimitPrefix, StringComparison.Ordinal) == true ? LimitPrefix : RevokedPrefix;
        reason = prefix == LimitPrefix ? SessionEventReason.SessionLimit : SessionEventReason.RevokedById;
        if (message.Version != long.MaxValue || id is null || id.Length <= prefix.Length + PublicIdLength + 1
            || !id.StartsWith(prefix, StringComparison.Ordinal) || id[prefix.Length + PublicIdLength] != ':')
        {
            return false;
        }

        publicId = id.Substring(prefix.Length, PublicIdLength);
        userId = id[(prefix.Length + PublicIdLength + 1)..];
        return UserSessionListing.IsPublicId(publicId);
    }
}
