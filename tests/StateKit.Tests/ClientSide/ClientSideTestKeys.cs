using System;
using System.Linq;
using StateKit.ClientSide;
using StateKit.Testing;

namespace StateKit.Tests.ClientSide;

/// <summary>Fixed keys, so that tickets are reproducible across test runs.</summary>
internal static class ClientSideTestKeys
{
    public static ClientSideKey Key(int id) => new(id, Enumerable.Range(0, 32).Select(i => (byte)(i + (id * 32))).ToArray());

    /// <summary>Options sized for the contract: a 16 KiB session seals to about 22,000 characters.</summary>
    public static ClientSideSessionStoreOptions ContractOptions(string purpose = "tests/contract/.session")
    {
        var options = new ClientSideSessionStoreOptions
        {
            IdleTimeout = SessionStoreContract.IdleTimeout,
            AbsoluteLifetime = SessionStoreContract.AbsoluteLifetime,
            MaxPayloadBytes = SessionStoreContract.MaxPayloadBytes,
            MaxTicketLength = 32 * 1024,
            Purpose = purpose,
        };
        options.Keys.Add(Key(1));
        return options;
    }

    public static readonly DateTimeOffset Epoch = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);
}
