using System.Threading.Tasks;

namespace StateKit.Testing;

/// <summary>Checks on the store an application registers (issue 18), whatever decorators it stacked over the one that lists.</summary>
public static class RegisteredListerChecks
{
    /// <summary>
    /// Signs a user in, loads the session once (so a near cache holds it), then asserts the store lists it by public id and
    /// ends it by that id so that no layer serves it afterwards.
    /// </summary>
    /// <param name="store">The registered store.</param>
    /// <returns>The ended session's ticket.</returns>
    public static async Task<string> ListsAndEndsASessionItHasCachedAsync(ISessionStore store)
    {
        var session = store.Open(null);
        session.Set("n", 1, ContractJsonContext.Default.Int32);
        session.BindUser("ana");
        var ticket = (await session.CommitAsync()).Ticket!;
        Assert.NotNull(await store.LoadAsync(ticket)); // now in a near cache, if there is one

        Assert.True(store.Capabilities.ListsUserSessions);
        var lister = Assert.IsAssignableFrom<ISessionLister>(store);
        var listed = Assert.Single((await lister.ListUserSessionsAsync("ana")).Sessions);
        Assert.Equal(SessionIds.ToPublicId(ticket), listed.PublicId);
        Assert.True(await lister.RevokeUserSessionAsync("ana", listed.PublicId));
        Assert.Null(await store.LoadAsync(ticket)); // not served from a near cache either
        return ticket;
    }
}
