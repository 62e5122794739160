using System.Threading;
using System.Threading.Tasks;

namespace StateKit.Testing;

/// <summary>Passes every call to a real store and counts them, to prove when StateSession does (and does not) do I/O.</summary>
public sealed class CountingSessionStore(ISessionStore inner) : ISessionStore
{
    private int _loads;
    private int _commits;

    public int Loads => _loads;

    public int Commits => _commits;

    public SessionCommit? LastCommit { get; private set; }

    public SessionStoreCapabilities Capabilities => inner.Capabilities;

    public ValueTask<SessionSnapshot?> LoadAsync(string ticket, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _loads);
        return inner.LoadAsync(ticket, cancellationToken);
    }

    public ValueTask<SessionCommitResult> CommitAsync(SessionCommit commit, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _commits);
        LastCommit = commit;
        return inner.CommitAsync(commit, cancellationToken);
    }

    public ValueTask<bool> RevokeAsync(string sessionId, CancellationToken cancellationToken = default) => inner.RevokeAsync(sessionId, cancellationToken);

    public ValueTask<int> RevokeUserAsync(string userId, CancellationToken cancellationToken = default) => inner.RevokeUserAsync(userId, cancellationToken);
}
