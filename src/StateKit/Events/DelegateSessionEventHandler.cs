using System;
using System.Threading;
using System.Threading.Tasks;

namespace StateKit.Events;

/// <summary>The handler behind <c>OnSessionEvent(...)</c>: a delegate registered as a singleton.</summary>
internal sealed class DelegateSessionEventHandler(Func<SessionEvent, CancellationToken, ValueTask> handle) : ISessionEventHandler
{
    public ValueTask HandleAsync(SessionEvent sessionEvent, CancellationToken cancellationToken) => handle(sessionEvent, cancellationToken);
}
