using System.Threading;
using System.Threading.Tasks;

namespace StateKit.Tests.Caching;

/// <summary>Passes calls to a real store, except that the first load waits, after reading, until the test releases it.</summary>
internal sealed class HeldLoadStore(ISessionStore inner) : ISessionStore
{
    private int _held;

    public TaskCompletionSource Read { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public SessionStoreCapabilities Capabilities => inner.Capabilities;

    public async ValueTask<SessionSnapshot?> LoadAsync(string ticket, CancellationToken cancellationToken = default)
    {
        var snapshot = await inner.LoadAsync(ticket, cancellationToken);
        if (Interlocked.Exchange(ref _held, 1) == 0)
        {
            Read.TrySetResult();
            await Release.Task;
        }

        return snapshot;
    }

    public ValueTask<SessionCommitResult> CommitAsync(SessionCommit commit, CancellationToken cancellationToken = default) => inner.CommitAsync(commit, cancellationToken);

    public ValueTask<bool> RevokeAsync(string sessionId, CancellationToken cancellationToken = default) => inner.RevokeAsync(sessionId, cancellationToken);

    public ValueTask<int> RevokeUserAsync(string userId, CancellationToken cancellationToken = default) => inner.RevokeUserAsync(userId, cancellationToken);
}
