using System.Globalization;

namespace StateKit;

/// <summary>A commit would make a session larger than its store accepts. Nothing was written.</summary>
public sealed class SessionPayloadTooLargeException : StateKitException
{
    /// <summary>Initializes a new instance of the <see cref="SessionPayloadTooLargeException"/> class.</summary>
    /// <param name="size">The size the session would have had, in bytes.</param>
    /// <param name="limit">The store's limit, in bytes.</param>
    public SessionPayloadTooLargeException(long size, long limit)
        : base(string.Format(
            CultureInfo.InvariantCulture,
            "The session would be {0} bytes, over the store's limit of {1} bytes (MaxPayloadBytes). Nothing was written. Store less in the session, or raise MaxPayloadBytes where the store allows it.",
            size,
            limit))
    {
        Size = size;
        Limit = limit;
    }

    /// <summary>Gets the size the session would have had, in bytes.</summary>
    public long Size { get; }

    /// <summary>Gets the store's limit, in bytes.</summary>
    public long Limit { get; }

    /// <summary>Throws when <paramref name="size"/> is over <paramref name="limit"/>.</summary>
    internal static void ThrowIfOver(long size, long limit)
    {
        if (size > limit)
        {
            throw new SessionPayloadTooLargeException(size, limit);
        }
    }
}
