using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Caching.Distributed;

namespace StateKit.Tests.Distributed;

/// <summary>
/// A real cache with gates: a gate holds the first call that matches it (before or after the inner cache ran it) until
/// the test releases it, so that a test can put another operation exactly there. No sleeps: the test awaits
/// <see cref="Gate.Reached"/>, acts, then calls <see cref="Gate.Release"/>.
/// </summary>
internal sealed class GatedDistributedCache(IDistributedCache inner) : IDistributedCache
{
    private readonly List<Gate> _gates = [];

    public enum Operation
    {
        Get,
        Set,
        Remove,
    }

    /// <summary>Holds the next <paramref name="operation"/> whose key <paramref name="key"/> accepts, before it runs (or after, when <paramref name="after"/>).</summary>
    public Gate Hold(Operation operation, Func<string, bool> key, bool after = false)
    {
        var gate = new Gate(operation, key, after);
        lock (_gates)
        {
            _gates.Add(gate);
        }

        return gate;
    }

    public byte[]? Get(string key) => throw new NotSupportedException("The store under test is async only.");

    public async Task<byte[]?> GetAsync(string key, CancellationToken token = default)
    {
        var gate = Take(Operation.Get, key);
        await Before(gate);
        var value = await inner.GetAsync(key, token);
        await After(gate);
        return value;
    }

    public void Refresh(string key) => throw new NotSupportedException("The store under test is async only.");

    public Task RefreshAsync(string key, CancellationToken token = default) => inner.RefreshAsync(key, token);

    public void Remove(string key) => throw new NotSupportedException("The store under test is async only.");

    public async Task RemoveAsync(string key, CancellationToken token = default)
    {
        var gate = Take(Operation.Remove, key);
        await Before(gate);
        await inner.RemoveAsync(key, token);
        await After(gate);
    }

    public void Set(string key, byte[] value, DistributedCacheEntryOptions options) => throw new NotSupportedException("The store under test is async only.");

    public async Task SetAsync(string key, byte[] value, DistributedCacheEntryOptions options, CancellationToken token = default)
    {
        var gate = Take(Operation.Set, key);
        await Before(gate);
        await inner.SetAsync(key, value, options, token);
        await After(gate);
    }

    private static Task Before(Gate? gate) => gate is { After: false } ? gate.Hit() : Task.CompletedTask;

    private static Task After(Gate? gate) => gate is { After: true } ? gate.Hit() : Task.CompletedTask;

    private Gate? Take(Operation operation, string key)
    {
        lock (_gates)
        {
            var gate = _gates.Find(g => g.Operation == operation && g.Key(key));
            if (gate is not null)
            {
                _gates.Remove(gate);
            }

            return gate;
        }
    }

    public sealed class Gate(Operation operation, Func<string, bool> key, bool after)
    {
        private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Operation Operation { get; } = operation;

        public Func<string, bool> Key { get; } = key;

        public bool After { get; } = after;

        /// <summary>Completes when a call is held here.</summary>
        public Task Reached => _reached.Task;

        public void Release() => _released.TrySetResult();

        internal Task Hit()
        {
            _reached.TrySetResult();
            return _released.Task;
        }
    }
}
