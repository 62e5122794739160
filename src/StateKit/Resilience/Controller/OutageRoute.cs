using System;
using System.Collections.Generic;

namespace StateKit.Resilience;

/// <summary>
/// Where one session started during an outage lives (or until its outage writes are replayed), and for standard state
/// the journaled writes: one entry per session, later writes to a key replacing earlier ones. Keyed by a ticket the
/// fallback issued, never by one a client chose. Guarded by the owning store's degraded-path gate.
/// </summary>
internal sealed class OutageRoute(string clientTicket, string? primaryTicket, long order)
{
    /// <summary>Gets the ticket the fallback issued to the client: the only name the route answers to.</summary>
    public string ClientTicket { get; } = clientTicket;

    /// <summary>
    /// Gets the primary ticket the client presented when the session started in the fallback, or <see langword="null"/>
    /// when it presented none. A claim: the store could not verify it during the outage, so the replay does.
    /// </summary>
    public string? PrimaryTicket { get; } = primaryTicket;

    public long Order { get; set; } = order;

    /// <summary>Gets or sets the fallback's ticket; <see langword="null"/> before the first write or after a delete.</summary>
    public string? FallbackTicket { get; set; }

    public bool Deleted { get; set; }

    /// <summary>Gets or sets the primary ticket a session created during the outage was replayed to: loads and commits go there.</summary>
    public string? ForwardTo { get; set; }

    public bool Journaled { get; set; }

    /// <summary>Gets the journaled value of each key; <see langword="null"/> for a removal.</summary>
    public Dictionary<string, ReadOnlyMemory<byte>?> Changes { get; } = new(StringComparer.Ordinal);

    public bool ClearExisting { get; set; }

    public bool Revoke { get; set; }

    public string? BindUserId { get; set; }

    /// <summary>Gets or sets the primary version the outage writes were based on; <see langword="null"/> when unknown.</summary>
    public long? BaseVersion { get; set; }

    /// <summary>Gets or sets a counter bumped by every journaled write, so a replay knows whether writes arrived meanwhile.</summary>
    public long Sequence { get; set; }

    public void Record(SessionCommit commit)
    {
        Sequence++;
        if (commit.Revoke)
        {
            Revoke = true;
            Changes.Clear();
            return;
        }

        if (commit.ClearExisting)
        {
            ClearExisting = true;
            Changes.Clear();
        }

        foreach (var key in commit.Removals)
        {
            Changes[key] = null;
        }

        foreach (var (key, value) in commit.Upserts)
        {
            // Copy: the caller owns its buffers.
            Changes[key] = value.ToArray();
        }

        BindUserId = commit.BindUserId ?? BindUserId;
    }
}
