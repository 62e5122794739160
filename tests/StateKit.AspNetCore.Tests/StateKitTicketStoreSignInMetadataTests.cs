using System;
using System.Net;
using System.Security.Claims;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using StateKit.Memory;

namespace StateKit.AspNetCore.Tests;

/// <summary>Issue 18: a cookie sign-in keeps the request's user agent and address with its session, for the account page.</summary>
public sealed class StateKitTicketStoreSignInMetadataTests
{
    [Fact]
    public async Task SignIn_ByDefault_KeepsTheUserAgentCutTo512AndTheClientAddress()
    {
        var store = new InMemorySessionStore(new InMemorySessionStoreOptions());
        var tickets = new StateKitTicketStore(store, "memory", ClaimTypes.NameIdentifier, signInMetadata: new StateKitTicketStoreOptions().SignInMetadata);
        var context = new DefaultHttpContext();
        context.Request.Headers.UserAgent = "Phone " + new string('x', 600);
        context.Connection.RemoteIpAddress = IPAddress.Parse("192.0.2.7");

        var key = await tickets.StoreAsync(Ticket("ana"), context, default);

        var listed = Assert.Single((await store.ListUserSessionsAsync("ana")).Sessions);
        Assert.Equal(SessionIds.ToPublicId(key), listed.PublicId);
        Assert.Equal(512, listed.Metadata["userAgent"].Length);
        Assert.StartsWith("Phone ", listed.Metadata["userAgent"], StringComparison.Ordinal);
        Assert.Equal("192.0.2.7", listed.Metadata["address"]);
    }

    [Fact]
    public async Task SignIn_WithCaptureTurnedOff_KeepsNothing()
    {
        var store = new InMemorySessionStore(new InMemorySessionStoreOptions());
        var tickets = new StateKitTicketStore(store, "memory", ClaimTypes.NameIdentifier, signInMetadata: new StateKitTicketStoreOptions { SignInMetadata = null }.SignInMetadata);
        var context = new DefaultHttpContext();
        context.Request.Headers.UserAgent = "Phone";

        await tickets.StoreAsync(Ticket("ana"), context, default);

        Assert.Empty(Assert.Single((await store.ListUserSessionsAsync("ana")).Sessions).Metadata);
    }

    [Fact]
    public async Task SignIn_PastARefusingLimit_ThrowsSessionLimitReached_NamingTheStoreNotTheUser_AndWritesNothing()
    {
        var store = new InMemorySessionStore(new InMemorySessionStoreOptions { MaxSessionsPerUser = 1, SessionLimitPolicy = UserSessionLimitPolicy.RefuseNewSession });
        var tickets = new StateKitTicketStore(store, "auth", ClaimTypes.NameIdentifier);
        var first = await tickets.StoreAsync(Ticket("ana.lopez@example.com"), new DefaultHttpContext(), default);

        var error = await Assert.ThrowsAsync<SessionLimitReachedException>(() => tickets.StoreAsync(Ticket("ana.lopez@example.com"), new DefaultHttpContext(), default));

        Assert.Equal("auth", error.StoreName);
        Assert.Contains("MaxSessionsPerUser", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("ana.lopez", error.Message, StringComparison.Ordinal);

        // Refused, not signed out: the user's one session is the one that was there.
        var listed = Assert.Single((await store.ListUserSessionsAsync("ana.lopez@example.com")).Sessions);
        Assert.Equal(SessionIds.ToPublicId(first), listed.PublicId);
    }

    [Fact]
    public async Task CurrentPublicId_AfterTheCookieHandlerRetrievedTheTicket_MarksThatSignInInTheListing()
    {
        var store = new InMemorySessionStore(new InMemorySessionStoreOptions());
        var tickets = new StateKitTicketStore(store, "memory", ClaimTypes.NameIdentifier);
        var laptop = await tickets.StoreAsync(Ticket("ana"), new DefaultHttpContext(), default);
        await tickets.StoreAsync(Ticket("ana"), new DefaultHttpContext(), default);
        var request = new DefaultHttpContext();
        Assert.Null(tickets.GetCurrentPublicId(request));

        Assert.NotNull(await tickets.RetrieveAsync(laptop, request, default));

        var listing = (await store.ListUserSessionsAsync("ana")).Sessions;
        Assert.Equal(2, listing.Count);
        var current = Assert.Single(listing, s => s.PublicId == tickets.GetCurrentPublicId(request));
        Assert.Equal(SessionIds.ToPublicId(laptop), current.PublicId);
    }

    private static AuthenticationTicket Ticket(string userId)
        => new(new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, userId)], "test")), "Cookies");
}
