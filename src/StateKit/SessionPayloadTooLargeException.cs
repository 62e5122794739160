using System;
using System.Globalization;

namespace StateKit;

/// <summary>A commit would make a session larger than its store accepts. Nothing was written.</summary>
public sealed class SessionPayloadTooLargeException : StateKitException
{
    /// <summary>Initializes a new instance of the <see cref="SessionPayloadTooLargeException"/> class.</summary>
    /// <param name="size">The size the session would have had, in bytes.</param>
    /// <param name="limit">The store's limit, in bytes.</param>
    public SessionPayloadTooLargeException(long size, long limit)
        : this(size, limit, DefaultLimitName)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="SessionPayloadTooLargeException"/> class for a limit other than <c>MaxPayloadBytes</c>.</summary>
    /// <param name="size">The size the session would have had, in the limit's unit (bytes, or characters of a ticket).</param>
    /// <param name="limit">The limit, in the same unit.</param>
    /// <param name="limitName">The setting that holds the limit, such as <c>MaxTicketLength</c>, named in the message.</param>
    /// <remarks>Client-held stores have two limits: the session's own bytes, and the length of the ticket it seals to.</remarks>
    public SessionPayloadTooLargeException(long size, long limit, string limitName)
        : base(string.Format(
            CultureInfo.InvariantCulture,
            "The session would be {0}, over the store's limit of {1} ({2}). Nothing was written. Store less in the session, or raise {2} where the store allows it.",
            size,
            limit,
            limitName))
    {
        ArgumentException.ThrowIfNullOrEmpty(limitName);
        Size = size;
        Limit = limit;
        LimitName = limitName;
    }

    /// <summary>Gets the size the session would have had, in bytes.</summary>
    public long Size { get; }

    /// <summary>Gets the store's limit, in bytes.</summary>
    public long Limit { get; }

    /// <summary>Gets the name of the setting that holds <see cref="Limit"/>.</summary>
    /// <value><c>MaxPayloadBytes</c> unless the store enforces another limit, such as a ticket's length.</value>
    public string LimitName { get; } = DefaultLimitName;

    private const string DefaultLimitName = "MaxPayloadBytes";

    /// <summary>Throws a <see cref="SessionPayloadTooLargeException"/> when <paramref name="size"/> is over <paramref name="limit"/>.</summary>
    /// <param name="size">The size the session would have, in the limit's unit.</param>
    /// <param name="limit">The limit, in the same unit.</param>
    /// <param name="limitName">The setting that holds the limit, named in the message.</param>
    /// <exception cref="SessionPayloadTooLargeException"><paramref name="size"/> is over <paramref name="limit"/>.</exception>
    /// <remarks>Every StateKit store checks its limits through this one method, so the check and its message are the same everywhere.</remarks>
    public static void ThrowIfOver(long size, long limit, string limitName = DefaultLimitName)
    {
        if (size > limit)
        {
            throw new SessionPayloadTooLargeException(size, limit, limitName);
        }
    }
}
