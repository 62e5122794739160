using System;
using System.Collections.Generic;

namespace StateKit.Memory;

/// <summary>
/// A <see cref="SessionTable"/>'s index from user id to the ids of the sessions bound to that user, kept in step with each
/// entry's <see cref="SessionTableEntry.UserId"/> and <see cref="SessionTableEntry.Id"/>. Used only under the table's lock.
/// </summary>
internal sealed class SessionUserIndex
{
    private readonly Dictionary<string, HashSet<string>> _sessionsByUser = new(StringComparer.Ordinal);

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

        if (!_sessionsByUser.TryGetValue(entry.UserId, out var ids))
        {
            _sessionsByUser[entry.UserId] = ids = new HashSet<string>(StringComparer.Ordinal);
        }

        ids.Add(entry.Id);
    }

    /// <summary>Takes an entry's current id out of its user's set; the entry keeps its user.</summary>
    public void Remove(SessionTableEntry entry)
    {
        if (entry.UserId is not null && _sessionsByUser.TryGetValue(entry.UserId, out var ids))
        {
            ids.Remove(entry.Id);
            if (ids.Count == 0)
            {
                _sessionsByUser.Remove(entry.UserId);
            }
        }
    }

    /// <summary>The ids bound to a user, copied, so that the caller may remove sessions while it walks them.</summary>
    public List<string> IdsOf(string userId)
        => _sessionsByUser.TryGetValue(userId, out var ids) ? new List<string>(ids) : [];
}
