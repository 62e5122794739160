using System.Threading;
using System.Threading.Tasks;

namespace StateKit.Tests.Resilience;

/// <summary>
/// Passes every call to a real store (listing too, when it lists), except that it can hold the next commit, or the return
/// of the next revocation by public id, until the test releases it: to order a replay against other calls without sleeps.
/// </summary>
internal sealed class GatedSessionStore(ISessionStore inner) : ISessionStore, ISessionLister
{
    private Gate? _nextCommit;
    private Gate? _afterRevoke;

    public SessionStoreCapabilities Capabilities => inner.Capabilities;

    /// <summary>Holds the next commit before it reaches the store.</summary>
    public Gate HoldNextCommit() => _nextCommit = new Gate();

    /// <summary>Holds the next revocation by public id after the store has applied it, before it returns.</summary>
    public Gate HoldAfterNextRevokeUserSession() => _afterRevoke = new Gate();

    public ValueTask<SessionSnapshot?> LoadAsync(string ticket, CancellationToken cancellationToken = default) => inner.LoadAsync(ticket, cancellationToken);

    public async ValueTask<SessionCommitResult> CommitAsync(SessionCommit commit, CancellationToken cancellationToken = default)
    {
        await PassAsync(ref _nextCommit);
        return await inner.CommitAsync(commit, cancellationToken);
    }

    public ValueTask<bool> RevokeAsync(string sessionId, CancellationToken cancellationToken = default) => inner.RevokeAsync(sessionId, cancellationToken);

    public ValueTask<int> RevokeUserAsync(string userId, CancellationToken cancellationToken = default) => inner.RevokeUserAsync(userId, cancellationToken);

    public ValueTask<UserSessionPage> ListUserSessionsAsync(string userId, string? continuationToken = null, int pageSize = UserSessionPage.DefaultPageSize, CancellationToken cancellationToken = default)
        => ((ISessionLister)inner).ListUserSessionsAsync(userId, continuationToken, pageSize, cancellationToken);

    public async ValueTask<bool> RevokeUserSessionAsync(string userId, string publicId, CancellationToken cancellationToken = default)
    {
        var revoked = await ((ISessionLister)inner).RevokeUserSessionAsync(userId, publicId, cancellationToken);
        await PassAsync(ref _afterRevoke);
        return revoked;
    }

    private static Task PassAsync(ref Gate? slot)
    {
        if (Interlocked.Exchange(ref slot, null) is not { } gate)
        {
            return Task.CompletedTask;
        }

        gate.Entered.TrySetResult();
        return gate.Released.Task;
    }

    public sealed class Gate
    {
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Released { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release() => Released.TrySetResult();
    }
}
