using System;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using StateKit.DependencyInjection;
using StateKit.Diagnostics;
using StateKit.Events;
using StateKit.Testing;

namespace StateKit.Tests.Events;

public sealed class SessionEventDispatcherTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 30, 8, 0, 0, TimeSpan.Zero));

    [Fact]
    public async Task SlowHandler_GatedUntilAfterTheCommitsReturn_CommitsCompleteAndTheOverflowIsCounted()
    {
        const int capacity = 8;
        const int commits = 50;
        var name = "slow-" + Guid.NewGuid().ToString("N");
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var recorder = new SessionEventRecorder();
        using var dropped = new MetricCollector<long>(StateKitTelemetry.Meter, "statekit.events.dropped");
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_time);
        services.AddStateKit(kit => kit
            .UseInMemory(o => o.Name = name)
            .OnSessionEvent(async (_, _) =>
            {
                entered.TrySetResult();
                await release.Task;
            })
            .AddSessionEventHandler<RecorderHandler>()
            .ConfigureSessionEvents(o => o.QueueCapacity = capacity));
        services.AddSingleton(recorder);
        await using var provider = services.BuildServiceProvider();
        await SessionEventRecorder.StartHostedAsync(provider);
        var store = provider.GetRequiredService<ISessionStore>();

        // The reader takes the first event and blocks in the handler; then the queue fills, and the rest are dropped.
        var results = new SessionCommitResult[commits];
        results[0] = await CommitNewAsync(store);
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        for (var i = 1; i < commits; i++)
        {
            results[i] = await CommitNewAsync(store);
        }

        Assert.All(results, r => Assert.Equal(SessionCommitOutcome.Committed, r.Outcome));
        Assert.False(release.Task.IsCompleted);
        var dispatcher = provider.GetRequiredService<SessionEventDispatcher>();
        Assert.Equal(commits - 1 - capacity, dispatcher.Dropped);
        Assert.Equal(commits - 1 - capacity, dropped.GetMeasurementSnapshot().Where(m => Equals(m.Tags[StateKitTelemetry.StoreTag], name)).Sum(m => m.Value));

        release.SetResult();
        await SessionEventRecorder.StopHostedAsync(provider);
        Assert.Equal(1 + capacity, recorder.Events.Count);
        Assert.All(recorder.Events, e => Assert.Equal(SessionEventKinds.Created, e.Kind));
    }

    [Fact]
    public async Task ThrowingHandler_IsSwallowed_TheCommitSucceedsAndTheNextHandlerStillGetsTheEvent()
    {
        var recorder = new SessionEventRecorder();
        using var errors = new MetricCollector<long>(StateKitTelemetry.Meter, "statekit.events.handler.errors");
        var name = "throwing-" + Guid.NewGuid().ToString("N");
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_time);
        services.AddSingleton(recorder);
        services.AddStateKit(kit => kit
            .UseInMemory(o => o.Name = name)
            .OnSessionEvent((_, _) => throw new InvalidOperationException("handler bug"))
            .AddSessionEventHandler<RecorderHandler>());
        await using var provider = services.BuildServiceProvider();
        await SessionEventRecorder.StartHostedAsync(provider);
        var store = provider.GetRequiredService<ISessionStore>();

        var result = await CommitNewAsync(store);

        Assert.Equal(SessionCommitOutcome.Committed, result.Outcome);
        var created = await recorder.WaitForAsync(SessionEventKinds.Created, result.SessionId!);
        Assert.Equal(name, created.StoreName);
        Assert.Equal(1, errors.GetMeasurementSnapshot().Where(m => Equals(m.Tags[StateKitTelemetry.StoreTag], name)).Sum(m => m.Value));
        await SessionEventRecorder.StopHostedAsync(provider);
    }

    [Fact]
    public async Task StackedDecorators_BreakerAndNearCacheOverOneStore_RaiseEachEventOnce()
    {
        var recorder = new SessionEventRecorder();
        var name = "stacked-" + Guid.NewGuid().ToString("N");
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_time);
        services.AddStateKit(kit => kit
            .UseInMemory(o => o.Name = name)
            .WithCircuitBreaker()
            .WithNearCache()
            .OnSessionEvent(recorder.HandleAsync));
        await using var provider = services.BuildServiceProvider();
        await SessionEventRecorder.StartHostedAsync(provider);
        var store = provider.GetRequiredService<ISessionStore>();

        var created = await CommitNewAsync(store);
        var session = store.Open(created.Ticket);
        await session.LoadAsync();
        session.RotateId();
        var rotated = await session.CommitAsync();
        Assert.True(await store.RevokeAsync(rotated.SessionId!));

        await SessionEventRecorder.StopHostedAsync(provider);
        Assert.Equal([SessionEventKinds.Created, SessionEventKinds.Rotated, SessionEventKinds.Revoked], recorder.Events.Select(e => e.Kind));
        Assert.All(recorder.Events, e => Assert.Equal(name, e.StoreName));
        Assert.True(store.Capabilities.Events.HasFlag(SessionEventKinds.Created | SessionEventKinds.Reconciled | SessionEventKinds.Conflict | SessionEventKinds.Expired));
    }

    [Fact]
    public async Task NoSubscription_NoQueueIsRegistered_AndCapabilitiesStillSayWhatWouldBeRaised()
    {
        var services = new ServiceCollection();
        services.AddStateKit();
        await using var provider = services.BuildServiceProvider();

        var store = provider.GetRequiredService<ISessionStore>();
        await CommitNewAsync(store);

        Assert.Null(provider.GetService<SessionEventDispatcher>());
        Assert.Empty(provider.GetServices<IHostedService>());
        Assert.Equal(
            SessionEventKinds.Created | SessionEventKinds.Rotated | SessionEventKinds.Revoked | SessionEventKinds.Expired | SessionEventKinds.Evicted,
            store.Capabilities.Events);
    }

    [Fact]
    public async Task InvalidOptions_FailAtStart_ListingEveryError()
    {
        var services = new ServiceCollection();
        services.AddStateKit(kit => kit
            .OnSessionEvent((_, _) => ValueTask.CompletedTask)
            .ConfigureSessionEvents(o =>
            {
                o.QueueCapacity = 0;
                o.ExpirySweepInterval = TimeSpan.Zero;
            }));
        await using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<SessionEventOptions>>().Value);

        Assert.Contains(error.Failures, f => f.Contains("QueueCapacity", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains("ExpirySweepInterval", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Raise_MoreThanOneKind_IsRefusedTyped()
    {
        await using var harness = new EventHarness(_time);

        var error = Assert.Throws<ArgumentException>(() => harness.Sink("s").Raise(SessionEventKinds.Created | SessionEventKinds.Expired, SessionEventReason.NewSession, SessionIds.NewId()));

        Assert.Equal("kind", error.ParamName);
    }

    [Fact]
    public async Task StopAsync_DeliversWhatWasQueued()
    {
        await using var harness = new EventHarness(_time);
        var ids = Enumerable.Range(0, 100).Select(_ => SessionIds.NewId()).ToArray();
        foreach (var id in ids)
        {
            harness.Sink("s").Raise(SessionEventKinds.Expired, SessionEventReason.IdleTimeout, id);
        }

        await harness.Dispatcher.StopAsync(CancellationToken.None);

        Assert.Equal(ids.Select(SessionIds.ToPublicId), harness.Recorder.Events.Select(e => e.PublicId));
    }

    internal static async Task<SessionCommitResult> CommitNewAsync(ISessionStore store)
    {
        var session = store.Open(null);
        session.SetBytes("cart", Encoding.UTF8.GetBytes("1"));
        return await session.CommitAsync();
    }

    // Registered by type, as an application's own handler would be.
    private sealed class RecorderHandler(SessionEventRecorder recorder) : ISessionEventHandler
    {
        public ValueTask HandleAsync(SessionEvent sessionEvent, CancellationToken cancellationToken) => recorder.HandleAsync(sessionEvent, cancellationToken);
    }
}
