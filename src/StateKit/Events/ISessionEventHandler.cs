using System.Threading;
using System.Threading.Tasks;

namespace StateKit.Events;

/// <summary>
/// Receives session lifecycle events. Register one with <c>AddSessionEventHandler&lt;T&gt;()</c> (a singleton) or a delegate with
/// <c>OnSessionEvent(...)</c>. Events are delivered one at a time, in the order they were raised, from a background queue:
/// a handler never delays a commit, and an exception it throws is logged and swallowed.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1711", Justification = "The name issue 16 asks for, and what users of Spring Session and MediatR look for; it is not an EventHandler delegate.")]
public interface ISessionEventHandler
{
    /// <summary>Handles one event.</summary>
    /// <param name="sessionEvent">The event.</param>
    /// <param name="cancellationToken">Cancelled when the host's shutdown stops waiting for handlers.</param>
    /// <returns>A task that completes when the event is handled; the next event waits for it.</returns>
    ValueTask HandleAsync(SessionEvent sessionEvent, CancellationToken cancellationToken);
}
