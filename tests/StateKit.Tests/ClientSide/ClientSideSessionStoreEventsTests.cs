using System;
using System.Threading.Tasks;
using Microsoft.Extensions.Time.Testing;
using StateKit.ClientSide;
using StateKit.Events;
using StateKit.Testing;
using StateKit.Tests.Events;

namespace StateKit.Tests.ClientSide;

public sealed class ClientSideSessionStoreEventsTests
{
    private readonly FakeTimeProvider _time = new(ClientSideTestKeys.Epoch);

    [Fact]
    public async Task Load_GenuineTicketPastItsDeadline_RaisesExpiredOnceHoweverOftenItComesBack()
    {
        await using var harness = new EventHarness(_time);
        var store = harness.Front(new ClientSideSessionStore(ClientSideTestKeys.ContractOptions(), _time), "sealed");
        var session = store.Open(null);
        session.Set("cart", 1, ContractJsonContext.Default.Int32);
        session.BindUser("frank");
        var created = await session.CommitAsync();

        _time.Advance(SessionStoreContract.IdleTimeout);
        for (var i = 0; i < 3; i++)
        {
            Assert.Null(await store.LoadAsync(created.Ticket!));
        }

        var expired = await harness.Recorder.WaitForAsync(SessionEventKinds.Expired, created.SessionId!);
        Assert.Equal((SessionEventReason.IdleTimeout, "frank"), (expired.Reason, expired.UserId));
        await harness.FlushAsync();
        Assert.Single(harness.EventsOf("sealed"), e => e.Kind == SessionEventKinds.Expired);
        Assert.Equal(SessionEventKinds.Expired, new ClientSideSessionStore(ClientSideTestKeys.ContractOptions(), _time).Capabilities.Events);
        harness.Recorder.AssertNeverCarries(created.Ticket!);
    }

    [Fact]
    public async Task Load_TamperedTicket_RaisesNothing()
    {
        await using var harness = new EventHarness(_time);
        var store = harness.Front(new ClientSideSessionStore(ClientSideTestKeys.ContractOptions(), _time), "sealed");
        var session = store.Open(null);
        session.Set("cart", 1, ContractJsonContext.Default.Int32);
        var ticket = (await session.CommitAsync()).Ticket!;
        var tampered = ticket[..^2] + (ticket[^2] == 'A' ? "B" : "A") + ticket[^1];

        _time.Advance(SessionStoreContract.IdleTimeout);
        Assert.Null(await store.LoadAsync(tampered));

        await harness.FlushAsync();
        Assert.DoesNotContain(harness.EventsOf("sealed"), e => e.Kind == SessionEventKinds.Expired);
    }
}
