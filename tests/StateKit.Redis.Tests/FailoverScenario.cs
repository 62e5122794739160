using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using Xunit.Abstractions;

namespace StateKit.Redis.Tests;

/// <summary>
/// The steps and checks every failover test shares, whatever the topology: warm up until commits were acknowledged on
/// the node to kill, kill it, wait for loads and then acknowledged commits to succeed again, and check that every failure
/// was typed and that no acknowledged commit was lost. Prints the measured figures (docs/redis.md quotes them).
/// </summary>
internal sealed class FailoverScenario(FailoverLoad load, IReadOnlySet<string> affected, ITestOutputHelper output)
{
    private static readonly TimeSpan Cap = TimeSpan.FromSeconds(30);
    private TimeSpan _killedAt;
    private TimeSpan _promotedAt;
    private TimeSpan _rejoinedAt;
    private TimeSpan _rejoinStartedAt;
    private int _acknowledgedBeforeKill;

    /// <summary>The store's options in every failover test: one replica must acknowledge each write.</summary>
    public static RedisSessionStoreOptions Options(string configuration, string prefix) => new()
    {
        // Short client timeouts keep a test short; the figures scale with them (docs/redis.md). The replica timeout is the
        // default, well below asyncTimeout, so that a slow acknowledgement on a busy machine is not a client timeout.
        Configuration = configuration + ",connectTimeout=1000,asyncTimeout=2000,syncTimeout=2000",
        KeyPrefix = prefix,
        RequireReplicaAcks = 1,
    };

    public async Task WarmUpAsync()
    {
        Assert.NotEmpty(affected);
        await load.WaitForAsync("10 acknowledged commits on the node to kill", Cap, o => o.Count(x => x.Kind == FailoverLoad.Kind.Commit && x.Succeeded && affected.Contains(x.Ticket)) >= 10);
    }

    public async Task KillAsync(Func<Task> kill)
    {
        _acknowledgedBeforeKill = load.Acknowledged.Values.Sum();
        await kill();

        // Taken once the process is gone: an operation that started later cannot have been answered by it.
        _killedAt = load.Now;
    }

    public void Promoted(TimeSpan waited)
    {
        _promotedAt = load.Now;
        output.WriteLine($"promotion observed {Ms(_promotedAt - _killedAt)} after the kill (polled for {Ms(waited)})");
    }

    /// <summary>
    /// While the promoted node has no replica, a write to it cannot be acknowledged: a commit of an affected session must
    /// fail (<see cref="ReplicaAcknowledgementException"/>, or a timeout when the busy node answers <c>WAIT</c> late), not be
    /// reported saved because another node's replica answered.
    /// </summary>
    public async Task AssertNoAcknowledgementWithoutReplicaAsync(ISessionStore store)
    {
        // The load is not what is checked here, and right after a failover it can still fail typed (UseRedis's 500 ms
        // timeout on a busy machine, a breaker still open): retry it until it succeeds, within the cap.
        var session = await LoadWithRetriesAsync(store, affected.First());
        session.Set("probe", 1, StateKit.Testing.ContractJsonContext.Default.Int32);
        var error = await Assert.ThrowsAnyAsync<SessionStoreUnavailableException>(async () => await session.CommitAsync());
        output.WriteLine($"a commit on the promoted node before any replica is back: {error.GetType().Name}");
        _rejoinStartedAt = load.Now;
    }

    public void Rejoined(TimeSpan waited)
    {
        _rejoinedAt = load.Now;
        output.WriteLine($"a replica was in sync again {Ms(_rejoinedAt - _killedAt)} after the kill (its sync waited for: {Ms(waited)})");
    }

    /// <summary>Waits for a load of an affected session that started after the kill to succeed: the store reconnected on its own.</summary>
    public Task WaitForLoadsAsync() => load.WaitForAsync("a load on the promoted node", Cap, o => o.Any(x => x.Kind == FailoverLoad.Kind.Load && x.Succeeded && affected.Contains(x.Ticket) && x.Started > _killedAt));

    /// <summary>Waits for acknowledged commits of affected sessions, started after the replica came back, to succeed.</summary>
    public Task WaitForCommitsAsync() => load.WaitForAsync("5 acknowledged commits on the promoted node", Cap, o => o.Count(x => x.Kind == FailoverLoad.Kind.Commit && x.Succeeded && affected.Contains(x.Ticket) && x.Started > _rejoinedAt) >= 5);

    public async Task AssertAsync(ISessionStore store, string topology)
    {
        var outcomes = load.Outcomes.ToArray();
        var after = outcomes.Where(o => o.Started >= _killedAt).ToArray();
        var failed = after.Where(o => !o.Succeeded).ToArray();
        var untyped = failed.Where(o => o.Problem is not null || !o.FailedTyped).ToArray();
        var lost = await load.LostAsync(store);
        var acknowledgedWithoutReplica = after.Where(o => o.Kind == FailoverLoad.Kind.Commit && o.Succeeded && affected.Contains(o.Ticket)
            && o.Started > _killedAt && o.Ended < _rejoinStartedAt).ToArray();

        output.WriteLine($"{topology}: {outcomes.Length} operations, {after.Length} after the kill, of which {failed.Length} failed");
        foreach (var kind in new[] { FailoverLoad.Kind.Load, FailoverLoad.Kind.Commit })
        {
            var ofKind = after.Where(o => o.Kind == kind && affected.Contains(o.Ticket)).ToArray();
            var lastFailure = ofKind.Where(o => !o.Succeeded).Select(o => o.Ended).DefaultIfEmpty(_killedAt).Max();
            var back = ofKind.Where(o => o.Succeeded && o.Started > _killedAt).Select(o => o.Ended).DefaultIfEmpty(TimeSpan.MaxValue).Min();
            var slowest = ofKind.Where(o => !o.Succeeded).Select(o => o.Ended - o.Started).DefaultIfEmpty().Max();
            output.WriteLine($"  {kind}s of sessions on the killed node: {ofKind.Count(o => !o.Succeeded)} failed, the slowest failure took {Ms(slowest)}; "
                + $"first success {Ms(back - _killedAt)} after the kill, last failure ended {Ms(lastFailure - _killedAt)} after it");
        }

        var others = after.Where(o => !affected.Contains(o.Ticket)).ToArray();
        var othersFailed = others.Where(o => !o.Succeeded).ToArray();
        output.WriteLine($"  sessions on other nodes: {othersFailed.Length} of {others.Length} operations failed"
            + (othersFailed.Length == 0 ? string.Empty : $", between {Ms(othersFailed.Min(o => o.Started) - _killedAt)} and {Ms(othersFailed.Max(o => o.Ended) - _killedAt)} after the kill, e.g. {othersFailed[0]}"));
        foreach (var group in failed.GroupBy(o => o.Problem ?? o.Error!.GetType().Name))
        {
            output.WriteLine($"  failure {group.Key}: {group.Count()} (e.g. {group.First().Error?.Message ?? group.First().Problem})");
        }

        output.WriteLine($"  acknowledged before the kill: {_acknowledgedBeforeKill} increments over {load.Acknowledged.Count} sessions; acknowledged writes lost: {lost.Count}");

        Assert.True(untyped.Length == 0, "every failure must be a SessionStoreUnavailableException: " + string.Join(" | ", untyped.Take(5)));
        Assert.True(acknowledgedWithoutReplica.Length == 0, $"{acknowledgedWithoutReplica.Length} commits were reported acknowledged after the kill, before any replica was back: " + string.Join(" | ", acknowledgedWithoutReplica.Take(5)));
        Assert.True(lost.Count == 0, "acknowledged commits lost: " + string.Join(" | ", lost));
        Assert.Contains(failed, o => affected.Contains(o.Ticket));
    }

    private static async Task<StateSession> LoadWithRetriesAsync(ISessionStore store, string ticket)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var session = store.Open(ticket);
            try
            {
                await session.LoadAsync();
                return session;
            }
            catch (SessionStoreUnavailableException) when (waited.Elapsed < Cap)
            {
                // A breaker that opened rejects at once; yield so that a retry loop does not spin on a 2-core machine.
                await Task.Delay(TimeSpan.FromMilliseconds(50), TimeProvider.System);
            }
        }
    }

    private static string Ms(TimeSpan t) => t == TimeSpan.MaxValue ? "never" : $"{t.TotalMilliseconds:F0} ms";
}
