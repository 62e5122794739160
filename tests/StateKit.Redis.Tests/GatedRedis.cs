using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using System.Runtime.ExceptionServices;
using System.Threading.Tasks;
using StackExchange.Redis;

namespace StateKit.Redis.Tests;

/// <summary>
/// The application's real multiplexer with gates on the store's scripts: a gate holds the first call of a script (on a
/// key it accepts) before it is sent, or after its reply came back, until the test releases it. That puts another
/// operation exactly between two of the store's calls, with no sleeps and no change to the store.
/// </summary>
internal sealed class GatedRedis
{
    private readonly List<Gate> _gates = [];

    public GatedRedis(IConnectionMultiplexer inner)
    {
        var multiplexer = DispatchProxy.Create<IConnectionMultiplexer, MultiplexerProxy>();
        ((MultiplexerProxy)(object)multiplexer).Init(inner, this);
        Multiplexer = multiplexer;
    }

    /// <summary>Gets the multiplexer to hand to the store.</summary>
    public IConnectionMultiplexer Multiplexer { get; }

    /// <summary>Holds the next run of <paramref name="script"/> on a key <paramref name="key"/> accepts.</summary>
    public Gate Hold(RedisScript script, Func<string, bool>? key = null, bool after = false)
    {
        var gate = new Gate(this, script, key ?? (_ => true), after);
        lock (_gates)
        {
            _gates.Add(gate);
        }

        return gate;
    }

    private Gate? Take(object?[] args)
    {
        // ScriptEvaluateAsync(byte[] hash | string text, RedisKey[] keys, RedisValue[] values, CommandFlags flags)
        if (args.Length < 2 || args[1] is not RedisKey[] { Length: > 0 } keys)
        {
            return null;
        }

        lock (_gates)
        {
            var gate = _gates.Find(g => (args[0] is byte[] hash && hash.SequenceEqual(g.Script.Hash) || args[0] is string text && text == g.Script.Text)
                && g.Key(keys[0].ToString()));
            if (gate is not null)
            {
                _gates.Remove(gate);
            }

            return gate;
        }
    }

    private static object? Call(object target, MethodInfo method, object?[]? args)
    {
        try
        {
            return method.Invoke(target, args);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
    }

    private static async Task<T> HeldBefore<T>(Gate gate, Func<object?> call)
    {
        await gate.Hit();
        return await (Task<T>)call()!;
    }

    private static async Task<T> HeldAfter<T>(Gate gate, Func<object?> call)
    {
        T result;
        try
        {
            result = await (Task<T>)call()!;
        }
        catch
        {
            // NOSCRIPT (first run on this server): the store sends it again in full; hold that one instead.
            lock (gate.Owner._gates)
            {
                gate.Owner._gates.Add(gate);
            }

            throw;
        }

        await gate.Hit();
        return result;
    }

    public sealed class Gate(GatedRedis owner, RedisScript script, Func<string, bool> key, bool after)
    {
        internal GatedRedis Owner { get; } = owner;

        private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

        internal RedisScript Script { get; } = script;

        internal Func<string, bool> Key { get; } = key;

        internal bool After { get; } = after;

        /// <summary>Completes when a call is held here.</summary>
        public Task Reached => _reached.Task;

        public void Release() => _released.TrySetResult();

        internal Task Hit()
        {
            _reached.TrySetResult();
            return _released.Task;
        }
    }

#pragma warning disable CA1852 // DispatchProxy derives its proxy type from this class: it must not be sealed.
    public class MultiplexerProxy : DispatchProxy
#pragma warning restore CA1852
    {
        private IConnectionMultiplexer _inner = null!;
        private GatedRedis _owner = null!;

        internal void Init(IConnectionMultiplexer inner, GatedRedis owner)
        {
            _inner = inner;
            _owner = owner;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            var result = Call(_inner, targetMethod!, args);
            if (targetMethod!.Name == nameof(IConnectionMultiplexer.GetDatabase) && result is IDatabase database)
            {
                var proxy = DispatchProxy.Create<IDatabase, DatabaseProxy>();
                ((DatabaseProxy)(object)proxy).Init(database, _owner);
                return proxy;
            }

            return result;
        }
    }

#pragma warning disable CA1852 // DispatchProxy derives its proxy type from this class: it must not be sealed.
    public class DatabaseProxy : DispatchProxy
#pragma warning restore CA1852
    {
        private static readonly MethodInfo Before = typeof(GatedRedis).GetMethod(nameof(HeldBefore), BindingFlags.NonPublic | BindingFlags.Static)!;
        private static readonly MethodInfo AfterReply = typeof(GatedRedis).GetMethod(nameof(HeldAfter), BindingFlags.NonPublic | BindingFlags.Static)!;
        private IDatabase _inner = null!;
        private GatedRedis _owner = null!;

        internal void Init(IDatabase inner, GatedRedis owner)
        {
            _inner = inner;
            _owner = owner;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            var gate = targetMethod!.Name == nameof(IDatabase.ScriptEvaluateAsync) ? _owner.Take(args ?? []) : null;
            if (gate is null)
            {
                return Call(_inner, targetMethod, args);
            }

            var resultType = targetMethod.ReturnType.GetGenericArguments()[0];
            Func<object?> call = () => Call(_inner, targetMethod, args);
            return (gate.After ? AfterReply : Before).MakeGenericMethod(resultType).Invoke(null, [gate, call]);
        }
    }
}
