using System;
using System.Collections.Generic;

namespace StateKit.Memory;

/// <summary>
/// A <see cref="SessionTable"/>'s index from user id to the sessions bound to that user, kept in step with each entry's
/// <see cref="SessionTableEntry.UserId"/> and <see cref="SessionTableEntry.Id"/>. Used only under the table's lock.
/// </summary>
/// <remarks>
/// Each user's sessions are ordered by public id, not kept in a hash set: a listing pages through them with the last public
/// id it returned as its cursor, which names no bearer id and stays valid while sessions come and go, and revoking by
/// public id is a lookup in that user's sessions only.
/// </remarks>
internal sealed class SessionUserIndex
{
    private readonly Dictionary<string, SortedDictionary<string, SessionTableEntry>> _sessionsByUser = new(StringComparer.Ordinal);

    /// <summary>Gets how many users have at least one session indexed.</summary>
    public int UserCount => _sessionsByUser.Count;

    /// <summary>Binds an entry to a user, moving it from the user it was bound to.</summary>
    public void Bind(SessionTableEntry entry, string userId)
    {
        if (entry.UserId == userId)
        {
            return;
        }

        Remove(entry);
        entry.UserId = userId;
        Add(entry);
    }

    /// <summary>Indexes an entry under its user and id, as they are now (after an id rotation, say).</summary>
    public void Add(SessionTableEntry entry)
    {
        if (entry.UserId is null)
        {
            return;
        }

        if (!_sessionsByUser.TryGetValue(entry.UserId, out var sessions))
        {
            _sessionsByUser[entry.UserId] = sessions = new SortedDictionary<string, SessionTableEntry>(StringComparer.Ordinal);
        }

        sessions[entry.PublicId] = entry;
    }

    /// <summary>Takes an entry's current id out of its user's sessions; the entry keeps its user.</summary>
    public void Remove(SessionTableEntry entry)
    {
        if (entry.UserId is not null && _sessionsByUser.TryGetValue(entry.UserId, out var sessions))
        {
            sessions.Remove(entry.PublicId);
            if (sessions.Count == 0)
            {
                _sessionsByUser.Remove(entry.UserId);
            }
        }
    }

    /// <summary>Gets how many sessions a user has indexed, dead ones not yet pruned included.</summary>
    public int CountOf(string userId) => _sessionsByUser.TryGetValue(userId, out var sessions) ? sessions.Count : 0;

    /// <summary>The ids bound to a user, copied, so that the caller may remove sessions while it walks them.</summary>
    public List<string> IdsOf(string userId)
    {
        if (!_sessionsByUser.TryGetValue(userId, out var sessions))
        {
            return [];
        }

        var ids = new List<string>(sessions.Count);
        foreach (var entry in sessions.Values)
        {
            ids.Add(entry.Id);
        }

        return ids;
    }

    /// <summary>The user's session under a public id, or <see langword="null"/>: another user's public id finds nothing.</summary>
    public SessionTableEntry? Find(string userId, string publicId)
        => _sessionsByUser.TryGetValue(userId, out var sessions) && sessions.TryGetValue(publicId, out var entry) ? entry : null;

    /// <summary>
    /// Walks a user's sessions in public-id order after <paramref name="afterPublicId"/>, handing each to
    /// <paramref name="visit"/> until it returns <see langword="false"/>; returns whether any session was left unvisited.
    /// The visitor must not change the index: the caller removes what it found dead after the walk.
    /// </summary>
    public bool Walk(string userId, string? afterPublicId, Func<SessionTableEntry, bool> visit)
    {
        if (!_sessionsByUser.TryGetValue(userId, out var sessions))
        {
            return false;
        }

        // SortedDictionary has no seek: skipping the keys before the cursor costs a comparison each, no allocation.
        var more = true;
        foreach (var (publicId, entry) in sessions)
        {
            if (afterPublicId is not null && string.CompareOrdinal(publicId, afterPublicId) <= 0)
            {
                continue;
            }

            if (!more)
            {
                return true;
            }

            more = visit(entry);
        }

        return false;
    }
}
