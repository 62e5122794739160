using System;
using System.Text.Json.Nodes;

namespace StateKit.AspNetCore;

/// <summary>
/// How the sync endpoint (<see cref="StateKitSyncExtensions.MapStateKitSync"/>) settles a <c>set</c> or <c>remove</c> recorded
/// offline against a key that someone else changed since the client last saw it. Counter and set operations never
/// conflict: they merge whatever the policy.
/// </summary>
public sealed class SyncPolicy
{
    private SyncPolicy(SyncPolicyKind kind, string name, Func<SyncConflict, JsonNode?>? merge)
    {
        Kind = kind;
        Name = name;
        Merger = merge;
    }

    /// <summary>
    /// Gets the policy under which the later write wins: the client's operation, stamped with when it was recorded (never
    /// later than the server's clock), against the server's time of the key's last write. A tie goes to the client.
    /// </summary>
    public static SyncPolicy LastWriterWins { get; } = new(SyncPolicyKind.LastWriterWins, "LastWriterWins", null);

    /// <summary>Gets the policy under which the server's value stays: the client's operation is rejected with it.</summary>
    public static SyncPolicy ServerWins { get; } = new(SyncPolicyKind.ServerWins, "ServerWins", null);

    /// <summary>Gets the policy under which the client's operation is applied over whatever the server holds.</summary>
    public static SyncPolicy ClientWins { get; } = new(SyncPolicyKind.ClientWins, "ClientWins", null);

    internal SyncPolicyKind Kind { get; }

    internal string Name { get; }

    internal Func<SyncConflict, JsonNode?>? Merger { get; }

    /// <summary>
    /// A policy that asks the app: <paramref name="merge"/> gets both values and returns the one to store
    /// (<see langword="null"/> removes the key). It runs inside the endpoint's compare-and-set loop, so it may run more than
    /// once for one operation and must have no other side effect. An exception it throws rejects the operation.
    /// </summary>
    /// <param name="merge">Builds the merged value from the conflict.</param>
    /// <returns>The policy.</returns>
    public static SyncPolicy Merge(Func<SyncConflict, JsonNode?> merge)
    {
        ArgumentNullException.ThrowIfNull(merge);
        return new(SyncPolicyKind.Merge, "Merge", merge);
    }

    /// <inheritdoc/>
    public override string ToString() => Name;
}
