using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace StateKit.AspNetCore;

/// <summary>
/// <see cref="ISession"/> over a StateKit session, so <c>HttpContext.Session.GetString(...)</c> code runs on any store.
/// Not to be confused with <c>Microsoft.AspNetCore.Session.ISessionStore</c>: this adapter needs neither it nor <c>AddSession</c>.
/// </summary>
internal sealed class StateKitSession(StateSession session, ILogger logger) : ISession
{
    private bool _unavailable;

    public bool IsAvailable
    {
        get
        {
            EnsureLoaded();
            return !_unavailable;
        }
    }

    /// <summary>
    /// Gets the session's public id (<see cref="StateSession.Id"/>), safe to log as apps log ASP.NET Core's own
    /// <c>Session.Id</c>; never the bearer id. Empty for a session that has not been committed yet (ids are minted by the
    /// store on first commit).
    /// </summary>
    public string Id
    {
        get
        {
            EnsureLoaded();
            return session.Id ?? string.Empty;
        }
    }

    public IEnumerable<string> Keys
    {
        get
        {
            EnsureLoaded();
            return _unavailable ? [] : session.Keys;
        }
    }

    public void Clear() => session.Clear();

    public Task CommitAsync(CancellationToken cancellationToken = default) => session.CommitAsync(cancellationToken).AsTask();

    public Task LoadAsync(CancellationToken cancellationToken = default) => session.LoadAsync(cancellationToken).AsTask();

    public void Remove(string key) => session.Remove(key);

    public void Set(string key, byte[] value) => session.SetBytes(key, value);

    public bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out byte[]? value)
    {
        value = null;
        EnsureLoaded();
        if (_unavailable || !session.TryGetBytes(key, out var bytes))
        {
            return false;
        }

        value = bytes.ToArray();
        return true;
    }

    private void EnsureLoaded()
    {
        if (session.IsLoaded || _unavailable)
        {
            return;
        }

        // ISession is synchronous. ASP.NET Core's own session blocks here too; we say so in the log.
        Log.SynchronousSessionLoad(logger);
        try
        {
            session.LoadAsync().AsTask().GetAwaiter().GetResult();
        }
        catch (SessionStoreUnavailableException)
        {
            // As ASP.NET Core's session does: IsAvailable turns false rather than every read throwing.
            _unavailable = true;
        }
    }
}
