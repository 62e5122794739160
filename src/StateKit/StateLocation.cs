namespace StateKit;

/// <summary>Where a store keeps session state between requests.</summary>
public enum StateLocation
{
    /// <summary>In the memory of one application process.</summary>
    Process = 0,

    /// <summary>In a server-side store shared by every application node (Redis, a distributed cache).</summary>
    Server = 1,

    /// <summary>Inside the ticket the client carries (a signed token or an encrypted blob).</summary>
    Client = 2,
}
