using System;
using System.Collections.Generic;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;

namespace StateKit.AspNetCore;

/// <summary>
/// Applies a validated batch to one session as a single compare-and-set: load, apply every operation to the loaded values,
/// commit only if nobody committed in between, and otherwise start again from a fresh load. The operations, the key
/// versions and the record of answered operation ids land together or not at all.
/// </summary>
internal sealed class SyncEngine(StateKitSyncOptions options, TimeProvider time, ILogger logger)
{
    public StateKitSyncOptions Options => options;

    public ILogger Logger => logger;

    public async ValueTask<SyncResult> ApplyAsync(StateSession session, SyncBatch batch, CancellationToken cancellationToken)
    {
        for (var attempt = 1; attempt <= options.MaxAttempts; attempt++)
        {
            await session.LoadAsync(cancellationToken).ConfigureAwait(false);
            var pass = new Pass(this, session, batch, time.GetUtcNow().ToUnixTimeMilliseconds());
            var answers = pass.Run();
            if (pass.Changed)
            {
                pass.Stage();
                var commit = await session.CommitAsync(SessionCommitMode.RequireBaseVersion, cancellationToken).ConfigureAwait(false);
                if (commit.Outcome is SessionCommitOutcome.Conflict or SessionCommitOutcome.NotFound)
                {
                    // Another request committed (or the session ended) since the load: what this pass decided may no longer hold.
                    session.DiscardChanges();
                    if (attempt < options.MaxAttempts)
                    {
                        await BackOffAsync(attempt, cancellationToken).ConfigureAwait(false);
                    }

                    continue;
                }
            }

            return new SyncResult(answers, pass.KeyStates(), attempt);
        }

        Log.SyncContention(logger, options.MaxAttempts);
        throw new SyncContentionException(options.MaxAttempts);
    }

    // Contenders that retry at once collide again in lockstep; a short random pause spreads them out. Wall-clock on
    // purpose: it paces real contention, it measures nothing.
    private static Task BackOffAsync(int attempt, CancellationToken cancellationToken)
    {
        var ceilingMs = Math.Min(1 << Math.Min(attempt, 5), 32);
        return Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * ceilingMs), TimeProvider.System, cancellationToken);
    }

    /// <summary>One attempt: the batch applied to one load of the session, in memory, until <see cref="Stage"/>.</summary>
    private sealed class Pass
    {
        private readonly SyncEngine _engine;
        private readonly StateSession _session;
        private readonly SyncBatch _batch;
        private readonly long _now;
        private readonly SyncLedger _ledger;
        private readonly Dictionary<string, SyncValue> _values = new(StringComparer.Ordinal);
        private readonly Dictionary<string, long> _startVersions = new(StringComparer.Ordinal);
        private readonly HashSet<string> _written = new(StringComparer.Ordinal);

        public Pass(SyncEngine engine, StateSession session, SyncBatch batch, long now)
        {
            _engine = engine;
            _session = session;
            _batch = batch;
            _now = now;
            _ledger = SyncLedger.Read(session.TryGetBytes(StateKitSyncOptions.LedgerKey, out var stored) ? (ReadOnlyMemory<byte>?)stored : null);
            foreach (var key in batch.Keys)
            {
                // The cast matters: `? bytes : null` would convert the null to an empty ReadOnlyMemory, a present empty value.
                var value = session.TryGetBytes(key, out var bytes) ? (ReadOnlyMemory<byte>?)bytes : null;
                _values[key] = new SyncValue(value);

                // A value the ledger does not know was written around the endpoint: its version moves on, and that is
                // worth a commit even for a batch that only reads.
                Changed |= _ledger.Observe(key, value is { } v ? v.Span : default, value is not null, now);
                _startVersions[key] = _ledger.Version(key);
            }
        }

        public bool Changed { get; private set; }

        public SyncAnswer[] Run()
        {
            var operations = _batch.Operations;
            var answers = new SyncAnswer[operations.Count];
            for (var i = 0; i < operations.Count; i++)
            {
                var operation = operations[i];
                if (_ledger.TryGetAnswer(operation.Id, out var recorded))
                {
                    answers[i] = new SyncAnswer(operation.Id, operation.Key, recorded.Status, recorded.Version, null, Replayed: true);
                    continue;
                }

                answers[i] = Apply(operation);
                _ledger.Remember(operation.Id, new(answers[i].Status, answers[i].Version));
                Changed = true;
            }

            return answers;
        }

        /// <summary>Hands the changed keys and the ledger to the session, to commit as one.</summary>
        public void Stage()
        {
            foreach (var key in _written)
            {
                var value = _values[key].Bytes;
                _ledger.Rehash(key, value is { } v ? v.Span : default, value is not null);
                if (value is { } bytes)
                {
                    _session.SetBytes(key, bytes.Span);
                }
                else
                {
                    _session.Remove(key);
                }
            }

            _ledger.Prune(_engine.Options.Keys.Keys);
            _session.SetBytes(StateKitSyncOptions.LedgerKey, _ledger.Write(_engine.Options.RememberedOperations).WrittenSpan);
        }

        public List<SyncKeyState> KeyStates()
        {
            var states = new List<SyncKeyState>(_batch.Keys.Count);
            foreach (var key in _batch.Keys)
            {
                states.Add(new SyncKeyState(key, _ledger.Version(key), _values[key].Bytes));
            }

            return states;
        }

        private SyncAnswer Apply(SyncOperation operation)
        {
            var key = operation.Key;
            var current = _values[key];
            var version = _ledger.Version(key);

            // The client saw the key as it stands, or as it stood before this batch's own earlier operations on it: then
            // nobody else changed it in between, and there is nothing to settle.
            var unchallenged = operation.BaseVersion == version || operation.BaseVersion == _startVersions[key];
            if (operation.Merges)
            {
                var failure = operation.Kind == SyncOperationKind.Add
                    ? SyncMerges.Add(current, operation.Field, operation.By)
                    : SyncMerges.ChangeSet(current, operation.Member!, operation.Kind == SyncOperationKind.SetAdd);
                return failure is null ? Wrote(operation, unchallenged ? SyncStatus.Applied : SyncStatus.Merged) : Reject(operation, failure);
            }

            var proposed = operation.Kind == SyncOperationKind.Set ? operation.Value : null;
            if (unchallenged)
            {
                return Write(operation, proposed, SyncStatus.Applied);
            }

            var policy = _engine.Options.Keys[key];
            switch (policy.Kind)
            {
                case SyncPolicyKind.ClientWins:
                    return Write(operation, proposed, SyncStatus.Applied);
                case SyncPolicyKind.ServerWins:
                    return Reject(operation, "conflict");
                case SyncPolicyKind.LastWriterWins:
                    // The client's clock may run ahead, by accident or to win every conflict: no later than the server's now.
                    var at = Math.Min(operation.At ?? _now, _now);
                    return at >= _ledger.LastWrite(key) ? Write(operation, proposed, SyncStatus.Applied) : Reject(operation, "conflict");
                default:
                    return Merge(operation, policy, current, version, proposed);
            }
        }

        private SyncAnswer Merge(SyncOperation operation, SyncPolicy policy, SyncValue current, long version, byte[]? proposed)
        {
            JsonNode? merged;
            try
            {
                // Fresh copies: the delegate may change what it is given.
                var conflict = new SyncConflict(
                    operation.Key,
                    current.Bytes is { } server ? JsonNode.Parse(server.Span) : null,
                    current.Exists,
                    proposed is null ? null : JsonNode.Parse(proposed),
                    operation.Kind == SyncOperationKind.Remove,
                    version,
                    operation.BaseVersion);
                merged = policy.Merger!(conflict);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The app's delegate, or a stored value that is not JSON: this operation fails, the batch goes on.
                Log.SyncMergeFailed(_engine.Logger, operation.Key, e);
                return Reject(operation, "merge-failed");
            }

            return Write(operation, merged is null ? null : SyncMerges.ToBytes(merged), SyncStatus.Merged);
        }

        private SyncAnswer Write(SyncOperation operation, byte[]? value, SyncStatus status)
        {
            _values[operation.Key].Replace(value);
            return Wrote(operation, status);
        }

        // The value changed (replaced, or changed in place by a merge): the key moves to its next version.
        private SyncAnswer Wrote(SyncOperation operation, SyncStatus status)
        {
            var key = operation.Key;
            _written.Add(key);
            var version = _ledger.Wrote(key, _now);
            return new SyncAnswer(operation.Id, key, status, version, null, Replayed: false);
        }

        private SyncAnswer Reject(SyncOperation operation, string reason)
            => new(operation.Id, operation.Key, SyncStatus.Rejected, _ledger.Version(operation.Key), reason, Replayed: false);
    }
}
