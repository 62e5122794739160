using System;
using System.Collections.Generic;

namespace StateKit.Memory;

/// <summary>
/// A <see cref="SessionTable"/>'s record of one session: its values, version and deadlines, its charge against the byte
/// bound, and its place in the LRU order. Every member is read and written only under the table's lock.
/// </summary>
internal sealed class SessionTableEntry(SessionTable table, string id, PackedValues values, DateTimeOffset now, DateTimeOffset absoluteExpiresAt, TimeSpan idleTimeout)
{
    private string? _publicId;
    private string? _publicIdOf;

    /// <summary>Gets the table that holds (or held) the entry: a snapshot's entry is trusted only by its own table.</summary>
    public SessionTable Table { get; } = table;

    /// <summary>Gets or sets a value indicating whether the entry is in the table.</summary>
    public bool IsLive { get; set; } = true;

    public string Id { get; set; } = id;

    public PackedValues Values { get; set; } = values;

    public long Version { get; set; } = 1;

    public DateTimeOffset CreatedAt { get; } = now;

    public DateTimeOffset LastAccessedAt { get; set; } = now;

    public DateTimeOffset AbsoluteExpiresAt { get; } = absoluteExpiresAt;

    public TimeSpan IdleTimeout { get; } = idleTimeout;

    public string? UserId { get; set; }

    /// <summary>Gets or sets what was captured when the entry was bound to its user; <see langword="null"/> for nothing.</summary>
    public IReadOnlyDictionary<string, string>? SignInMetadata { get; set; }

    /// <summary>Gets the public id of <see cref="Id"/>, hashed once per id (ids change only on rotation).</summary>
    public string PublicId
    {
        get
        {
            if (!ReferenceEquals(_publicIdOf, Id))
            {
                _publicId = SessionIds.ToPublicId(Id);
                _publicIdOf = Id;
            }

            return _publicId!;
        }
    }

    /// <summary>Gets or sets the bytes the entry is charged: its payload plus a fixed overhead.</summary>
    public long Charge { get; set; }

    /// <summary>Gets or sets the entry used just after this one in the LRU order.</summary>
    public SessionTableEntry? Hotter { get; set; }

    /// <summary>Gets or sets the entry used just before this one in the LRU order.</summary>
    public SessionTableEntry? Colder { get; set; }

    public DateTimeOffset ExpiresAt
    {
        get
        {
            var idle = LastAccessedAt + IdleTimeout;
            return idle < AbsoluteExpiresAt ? idle : AbsoluteExpiresAt;
        }
    }

    public bool IsExpired(DateTimeOffset now) => now >= ExpiresAt;
}
