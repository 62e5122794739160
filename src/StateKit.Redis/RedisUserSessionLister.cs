using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using StackExchange.Redis;

namespace StateKit.Redis;

/// <summary>
/// <see cref="RedisSessionStore"/>'s <see cref="ISessionLister"/>: pages through a user's index set with <c>SSCAN</c>, reads
/// each page's sessions in one round trip, and revokes (through the same script as sign-out everywhere, so with the same
/// tombstones) the ids whose session is gone, dropping them from the index as it goes.
/// </summary>
/// <remarks>
/// <para>
/// One <c>SSCAN</c> batch per call, so a user with 10,000 sessions costs a page's worth of memory, not 10,000. A batch can
/// hold more ids than the page (<c>COUNT</c> is a hint, and a small set comes back whole): the ids of a batch are sorted by
/// public id, and when the page fills inside a batch the token is the batch's cursor and the last public id returned, so
/// the next call scans the same batch again and resumes after it. The token names no bearer id.
/// </para>
/// <para>
/// An id whose session is bound to another user is neither shown nor pruned: it may be a bind to this user still in flight
/// (see <see cref="RedisUserIndex"/>).
/// </para>
/// </remarks>
internal sealed class RedisUserSessionLister(
    RedisCommandRunner runner,
    RedisKeys keys,
    RedisUserIndex index,
    TimeProvider time,
    Func<string, string, bool, CancellationToken, Task<(bool Live, bool Unindex)>> revokeOne)
{
    private static readonly RedisValue[] Fields = ["m:v", "m:c", "m:a", "m:x", "m:i", RedisFields.User, "m:s"];

    public async ValueTask<UserSessionPage> ListAsync(string userId, string? continuationToken, int pageSize, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(userId);
        UserSessionListing.ThrowIfBadPageSize(pageSize);
        var (cursor, after) = ParseToken(continuationToken);
        cancellationToken.ThrowIfCancellationRequested();
        if (userId.Length == 0)
        {
            return new UserSessionPage([], null);
        }

        var (next, members) = await index.ScanAsync(userId, cursor, pageSize, cancellationToken).ConfigureAwait(false);
        var gone = members.Where(m => !SessionIds.IsWellFormed(m)).ToList();
        var candidates = members
            .Where(m => SessionIds.IsWellFormed(m))
            .Select(m => (Id: (string)m!, PublicId: SessionIds.ToPublicId((string)m!)))
            .Where(c => after is null || string.CompareOrdinal(c.PublicId, after) > 0)
            .OrderBy(c => c.PublicId, StringComparer.Ordinal)
            .ToArray();
        var stored = await runner.CallAsync(
            db => Task.WhenAll(candidates.Select(c => db.HashGetAsync(keys.Session(c.Id), Fields))),
            "list",
            cancellationToken).ConfigureAwait(false);

        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var sessions = new List<UserSessionInfo>(Math.Min(pageSize, candidates.Length));
        var dead = new List<string>();
        string? token = null;
        for (var i = 0; i < candidates.Length; i++)
        {
            var fields = stored[i];
            if (!IsLive(fields, now))
            {
                dead.Add(candidates[i].Id);
                continue;
            }

            if ((string?)fields[5] != userId)
            {
                continue;
            }

            if (sessions.Count == pageSize)
            {
                token = Token(cursor, sessions[^1].PublicId);
                break;
            }

            sessions.Add(new UserSessionInfo(
                candidates[i].PublicId,
                RedisFields.FromMs((long)fields[1]),
                RedisFields.FromMs((long)fields[2]),
                RedisSignInMetadata.Decode(fields[6])));
        }

        token ??= next == 0 ? null : Token(next, null);
        await PruneAsync(userId, dead, gone, cancellationToken).ConfigureAwait(false);
        return new UserSessionPage(sessions, token);
    }

    public async ValueTask<(string Id, bool Live)?> RevokeAsync(string userId, string publicId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(userId);
        ArgumentNullException.ThrowIfNull(publicId);
        cancellationToken.ThrowIfCancellationRequested();
        if (userId.Length == 0 || !UserSessionListing.IsPublicId(publicId))
        {
            return null;
        }

        // Only this user's index is searched: a public id from anyone else's listing matches nothing here.
        var id = await index.FindAsync(userId, m => SessionIds.IsWellFormed(m) && SessionIds.ToPublicId(m!) == publicId, cancellationToken).ConfigureAwait(false);
        if (id is null)
        {
            return null;
        }

        var (live, unindex) = await revokeOne(id, userId, false, cancellationToken).ConfigureAwait(false);
        if (unindex)
        {
            await index.RemoveAsync(userId, [id], cancellationToken).ConfigureAwait(false);
        }

        return (id, live);
    }

    private static bool IsLive(RedisValue[] fields, long now)
    {
        if (fields[0].IsNull || !fields[2].TryParse(out long a) || !fields[3].TryParse(out long x) || !fields[4].TryParse(out long i))
        {
            return false;
        }

        return now < x && now < a + i;
    }

    private static string Token(long cursor, string? afterPublicId)
        => afterPublicId is null ? cursor.ToString(CultureInfo.InvariantCulture) : cursor.ToString(CultureInfo.InvariantCulture) + ":" + afterPublicId;

    private static (long Cursor, string? After) ParseToken(string? token)
    {
        if (token is null)
        {
            return (0, null);
        }

        var colon = token.IndexOf(':', StringComparison.Ordinal);
        var cursorText = colon < 0 ? token : token[..colon];
        var after = colon < 0 ? null : token[(colon + 1)..];
        if (!long.TryParse(cursorText, NumberStyles.None, CultureInfo.InvariantCulture, out var cursor) || (after is not null && !UserSessionListing.IsPublicId(after)))
        {
            throw new ArgumentException("The continuation token is not one this store issued; pass null for the first page.", nameof(token));
        }

        return (cursor, after);
    }

    private async ValueTask PruneAsync(string userId, List<string> dead, List<RedisValue> gone, CancellationToken cancellationToken)
    {
        if (dead.Count > 0)
        {
            // The revoke script deletes an expired session and tombstones an absent id, so dropping either from the index is
            // safe against a create still in flight under it; one bound to someone else meanwhile is left (Unindex false),
            // and so is one alive by now (read as absent while its create was in flight): deadOnly.
            var revoked = await Task.WhenAll(dead.Select(id => revokeOne(id, userId, true, cancellationToken))).ConfigureAwait(false);
            gone.AddRange(dead.Where((_, i) => revoked[i].Unindex).Select(id => (RedisValue)id));
        }

        if (gone.Count > 0)
        {
            await index.RemoveAsync(userId, [.. gone], cancellationToken).ConfigureAwait(false);
        }
    }
}
