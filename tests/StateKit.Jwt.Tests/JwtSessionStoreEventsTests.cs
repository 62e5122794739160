using System;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.Tokens;
using StateKit.DependencyInjection;
using StateKit.Events;
using StateKit.Testing;

namespace StateKit.Jwt.Tests;

/// <summary>A JWT store sees expiry only when a token comes back: these tests pin what it reports, and what it cannot.</summary>
public sealed class JwtSessionStoreEventsTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 30, 8, 0, 0, TimeSpan.Zero));
    private readonly SymmetricSecurityKey _hmac = JwtTestKeys.Hmac("h1");

    [Fact]
    public async Task Load_TokenThisNodeIssuedPastItsDeadline_RaisesExpiredOnce()
    {
        var recorder = new SessionEventRecorder();
        await using var provider = await StartAsync(recorder);
        var store = provider.GetRequiredService<ISessionStore>();
        var session = store.Open(null);
        session.SetBytes("cart", "1"u8);
        session.BindUser("ivy");
        var created = await session.CommitAsync();

        _time.Advance(SessionStoreContract.IdleTimeout);
        Assert.Null(await store.LoadAsync(created.Ticket!));
        Assert.Null(await store.LoadAsync(created.Ticket!));

        await SessionEventRecorder.StopHostedAsync(provider);
        var expired = Assert.Single(recorder.Events, e => e.Kind == SessionEventKinds.Expired);
        Assert.Equal((SessionIds.ToPublicId(created.SessionId!), SessionEventReason.IdleTimeout, "ivy"), (expired.PublicId, expired.Reason, expired.UserId));
        Assert.Contains(recorder.Events, e => e.Kind == SessionEventKinds.Created);
        recorder.AssertNeverCarries(created.Ticket!);
        Assert.Equal(SessionEventKinds.Created | SessionEventKinds.Rotated | SessionEventKinds.Revoked | SessionEventKinds.Expired, store.Capabilities.Events);
    }

    [Fact]
    public async Task Load_ExpiredTokenThisNodeNeverValidated_RaisesNothing()
    {
        var issuer = new JwtSessionStore(JwtTestKeys.Options(_hmac), _time);
        var session = issuer.Open(null);
        session.SetBytes("cart", "1"u8);
        var token = (await session.CommitAsync()).Ticket!;
        var recorder = new SessionEventRecorder();
        await using var provider = await StartAsync(recorder);

        _time.Advance(SessionStoreContract.IdleTimeout + TimeSpan.FromMinutes(10));
        Assert.Null(await provider.GetRequiredService<ISessionStore>().LoadAsync(token));

        // Past exp and skew, the token fails validation before its claims are trusted: nothing to report it by.
        await SessionEventRecorder.StopHostedAsync(provider);
        Assert.DoesNotContain(recorder.Events, e => e.Kind == SessionEventKinds.Expired);
    }

    private async Task<ServiceProvider> StartAsync(SessionEventRecorder recorder)
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_time);
        services.AddStateKit(kit => kit
            .UseJwt(o =>
            {
                var defaults = JwtTestKeys.Options(_hmac);
                o.Issuer = defaults.Issuer;
                o.Audience = defaults.Audience;
                o.IdleTimeout = defaults.IdleTimeout;
                o.AbsoluteLifetime = defaults.AbsoluteLifetime;
                o.MaxPayloadBytes = defaults.MaxPayloadBytes;
                o.MaxTokenLength = defaults.MaxTokenLength;
                o.SigningKeys.Add(_hmac);
            })
            .OnSessionEvent(recorder.HandleAsync));
        var provider = services.BuildServiceProvider();
        await SessionEventRecorder.StartHostedAsync(provider);
        return provider;
    }
}
