using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StateKit.DependencyInjection;

namespace StateKit.Benchmarks;

/// <summary>
/// What subscribing to session events costs a commit on the in-memory store: the same commits through one provider with
/// no handler (the baseline: no queue, no sink) and one with a handler that counts. <c>CreateThenSignOut</c> raises two
/// events per operation (created, revoked); <c>Update</c> raises none, so it shows the cost of being subscribed alone.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class SessionEventBenchmarks
{
    private static readonly Dictionary<string, ReadOnlyMemory<byte>> Cart = new(StringComparer.Ordinal) { ["cart"] = new byte[256] };

    private ServiceProvider _plain = null!;
    private ServiceProvider _subscribed = null!;
    private ISessionStore _plainStore = null!;
    private ISessionStore _subscribedStore = null!;
    private string _plainTicket = null!;
    private string _subscribedTicket = null!;
    private long _handled;

    [GlobalSetup]
    public void Setup()
    {
        _plain = Build(subscribe: false);
        _subscribed = Build(subscribe: true);
        _plainStore = _plain.GetRequiredService<ISessionStore>();
        _subscribedStore = _subscribed.GetRequiredService<ISessionStore>();
        _plainTicket = _plainStore.CommitAsync(new SessionCommit { Upserts = Cart }).AsTask().GetAwaiter().GetResult().Ticket!;
        _subscribedTicket = _subscribedStore.CommitAsync(new SessionCommit { Upserts = Cart }).AsTask().GetAwaiter().GetResult().Ticket!;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var provider in new[] { _plain, _subscribed })
        {
            foreach (var hosted in provider.GetServices<IHostedService>())
            {
                hosted.StopAsync(CancellationToken.None).GetAwaiter().GetResult();
            }

            provider.Dispose();
        }
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("CreateThenSignOut")]
    public ValueTask<SessionCommitOutcome> CreateThenSignOut_NoHandler() => CreateThenSignOutAsync(_plainStore);

    [Benchmark]
    [BenchmarkCategory("CreateThenSignOut")]
    public ValueTask<SessionCommitOutcome> CreateThenSignOut_Subscribed() => CreateThenSignOutAsync(_subscribedStore);

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Update")]
    public ValueTask<SessionCommitResult> Update_NoHandler() => _plainStore.CommitAsync(new SessionCommit { Ticket = _plainTicket, Upserts = Cart });

    [Benchmark]
    [BenchmarkCategory("Update")]
    public ValueTask<SessionCommitResult> Update_Subscribed() => _subscribedStore.CommitAsync(new SessionCommit { Ticket = _subscribedTicket, Upserts = Cart });

    private static async ValueTask<SessionCommitOutcome> CreateThenSignOutAsync(ISessionStore store)
    {
        var created = await store.CommitAsync(new SessionCommit { Upserts = Cart }).ConfigureAwait(false);
        var signedOut = await store.CommitAsync(new SessionCommit { Ticket = created.Ticket, Revoke = true }).ConfigureAwait(false);
        return signedOut.Outcome;
    }

    private ServiceProvider Build(bool subscribe)
    {
        var services = new ServiceCollection();
        services.AddStateKit(kit =>
        {
            kit.UseInMemory();
            if (subscribe)
            {
                kit.OnSessionEvent((_, _) =>
                {
                    Interlocked.Increment(ref _handled);
                    return ValueTask.CompletedTask;
                });
            }
        });
        var provider = services.BuildServiceProvider();
        foreach (var hosted in provider.GetServices<IHostedService>())
        {
            hosted.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
        }

        return provider;
    }
}
