namespace StateKit.Redis;

/// <summary>
/// Whether a <see cref="RedisSessionStore"/> listens to Redis keyspace notifications to report sessions Redis expired
/// (<c>StateKit.Events.SessionEventKinds.Expired</c>). Only matters when the application subscribes to session events.
/// </summary>
public enum RedisExpiryNotifications
{
    /// <summary>
    /// Read the server's <c>notify-keyspace-events</c>: listen when it has expired events on (<c>E</c> with <c>x</c> or
    /// <c>A</c>); otherwise log that expiry is seen only on load. When the server refuses <c>CONFIG GET</c> (a managed
    /// Redis, or a connection without <c>allowAdmin</c>), listen anyway: a channel nobody publishes to costs nothing.
    /// </summary>
    Detect = 0,

    /// <summary>Never listen: expiry is seen only when a load meets a session past its deadline.</summary>
    Off = 1,

    /// <summary>
    /// Turn expired events on in the server (<c>CONFIG SET notify-keyspace-events</c>, adding <c>Ex</c> to what is set), then
    /// listen. Changes the server's configuration for every client of it; needs a connection with <c>allowAdmin=true</c>.
    /// </summary>
    Enable = 2,
}
