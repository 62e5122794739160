using System;
using System.Collections.Generic;

namespace StateKit.Sticky;

/// <summary>Settings of <see cref="StickySessionStore"/>.</summary>
public sealed class StickySessionStoreOptions : SessionStoreOptions
{
    /// <summary>
    /// Gets or sets this node's id, carried in every ticket it issues and routed on by the proxy: 1 to 64 ASCII
    /// letters, digits, '-' or '_'. With the YARP policy it must equal this node's destination id in the cluster config.
    /// </summary>
    /// <value>The default value is an empty string, which is invalid: set it (e.g. from the pod or host name).</value>
    public string NodeId { get; set; } = string.Empty;

    /// <summary>
    /// Gets the key ring that signs and verifies tickets: the first key signs, every key verifies. Every node and every
    /// verifying proxy holds the same ring (see <see cref="StickyKey"/> for rotation).
    /// </summary>
    public IList<StickyKey> Keys { get; } = new List<StickyKey>();

    /// <summary>Gets or sets the most sessions this node keeps in memory; past it the least recently used anonymous session is evicted, a user-bound one only when no other anonymous one is left.</summary>
    /// <value>The default value is 100,000.</value>
    public int MaxSessions { get; set; } = StateKitDefaults.InMemoryMaxSessions;

    /// <summary>Gets or sets the most bytes of session data this node keeps in memory; past it the least recently used anonymous session is evicted, a user-bound one only when no other anonymous one is left.</summary>
    /// <value>The default value is 256 MiB.</value>
    public long MaxBytes { get; set; } = StateKitDefaults.InMemoryMaxBytes;

    /// <summary>
    /// Gets or sets the name of another StateKit store (registered with <c>AddStore(name, ...)</c>) that keeps a copy of
    /// every session, so that another node can take it over when this one is gone. It must be server-side
    /// (<see cref="StateLocation.Server"/>), e.g. Redis or a distributed cache shared by every node.
    /// </summary>
    /// <value>The default value is <see langword="null"/>: no backup; a session dies with its node.</value>
    public string? BackupStoreName { get; set; }

    /// <summary>Gets or sets how many sessions may wait for replication to the backup store at once (each queued once, however often it changes).</summary>
    /// <value>The default value is 10,000.</value>
    public int BackupQueueCapacity { get; set; } = StateKitDefaults.StickyBackupQueueCapacity;

    /// <summary>Gets or sets what happens to a replication when the queue is full.</summary>
    /// <value>The default value is <see cref="StickyBackupQueueFullMode.Drop"/>: requests never wait on the backup.</value>
    public StickyBackupQueueFullMode BackupQueueFullMode { get; set; } = StickyBackupQueueFullMode.Drop;

    /// <summary>Gets or sets how long a commit waits for room under <see cref="StickyBackupQueueFullMode.Wait"/>.</summary>
    /// <value>The default value is 100 milliseconds.</value>
    public TimeSpan BackupQueueFullTimeout { get; set; } = StateKitDefaults.StickyBackupQueueFullTimeout;

    /// <summary>
    /// Gets or sets how long a session only read may go without its backup copy being written again. Each write slides the
    /// copy's idle deadline and sets the last-active time a listing of the user's sessions shows (see docs/user-sessions.md),
    /// so that time lags the session's real last request by at most this interval plus the write-behind queue's lag.
    /// Shorter is more exact and costs one backup write per read session per interval; <see cref="TimeSpan.Zero"/> queues
    /// one for every request.
    /// </summary>
    /// <value>The default value is <see langword="null"/>: a quarter of <see cref="SessionStoreOptions.IdleTimeout"/>.</value>
    public TimeSpan? BackupRefreshInterval { get; set; }

    /// <summary>The refresh interval in force: <see cref="BackupRefreshInterval"/>, or a quarter of the idle timeout.</summary>
    internal TimeSpan RefreshInterval => BackupRefreshInterval ?? IdleTimeout / 4;

    /// <summary>
    /// Gets or sets how long the drain at shutdown may take to flush every live session to the backup store. Keep it
    /// under the host's shutdown timeout (<c>HostOptions.ShutdownTimeout</c>, 30 seconds by default).
    /// </summary>
    /// <value>The default value is 20 seconds.</value>
    public TimeSpan DrainTimeout { get; set; } = StateKitDefaults.StickyDrainTimeout;

    /// <inheritdoc />
    protected override void CollectValidationErrors(ICollection<string> errors)
    {
        base.CollectValidationErrors(errors);
        if (!StickyTicket.IsToken(NodeId, StickyTicket.MaxNodeIdLength))
        {
            errors.Add($"NodeId '{NodeId}' must be 1 to {StickyTicket.MaxNodeIdLength} ASCII letters, digits, '-' or '_', unique per node (and equal to its YARP destination id).");
        }

        StickyKey.Validate(Keys, nameof(Keys), errors);
        if (MaxSessions <= 0)
        {
            errors.Add($"MaxSessions must be positive (was {MaxSessions}).");
        }

        if (MaxBytes <= 0)
        {
            errors.Add($"MaxBytes must be positive (was {MaxBytes}).");
        }

        if (BackupStoreName is { Length: 0 })
        {
            errors.Add("BackupStoreName must not be empty; use null for no backup, or the name given to AddStore.");
        }

        if (BackupQueueCapacity <= 0)
        {
            errors.Add($"BackupQueueCapacity must be positive (was {BackupQueueCapacity}).");
        }

        if (!Enum.IsDefined(BackupQueueFullMode))
        {
            errors.Add($"BackupQueueFullMode {BackupQueueFullMode} is not defined; use Drop or Wait.");
        }

        if (BackupQueueFullTimeout < TimeSpan.Zero)
        {
            errors.Add($"BackupQueueFullTimeout must not be negative (was {BackupQueueFullTimeout}).");
        }

        if (BackupRefreshInterval is { } refresh && (refresh < TimeSpan.Zero || refresh > IdleTimeout / 2))
        {
            errors.Add($"BackupRefreshInterval must be from zero to half the IdleTimeout (was {refresh}, IdleTimeout {IdleTimeout}): a read-only session's backup copy must be rewritten well before it idles out.");
        }

        if (DrainTimeout <= TimeSpan.Zero)
        {
            errors.Add($"DrainTimeout must be positive (was {DrainTimeout}). Keep it under the host's ShutdownTimeout.");
        }
    }
}
