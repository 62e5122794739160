using System.Collections.Generic;

namespace StateKit.ClientSide;

/// <summary>
/// Supplies a <see cref="ClientSideSessionStore"/>'s keys from somewhere other than options, such as a vault or a secret
/// manager. Register one in DI, or set <see cref="ClientSideSessionStoreOptions.KeyProvider"/>.
/// </summary>
/// <remarks>The store reads the keys once, when it is built, and adds them to <see cref="ClientSideSessionStoreOptions.Keys"/>.</remarks>
public interface IClientSideKeyProvider
{
    /// <summary>Gets the keys: the one with the highest id seals, the others only open.</summary>
    /// <returns>The keys.</returns>
    IReadOnlyCollection<ClientSideKey> GetKeys();
}
