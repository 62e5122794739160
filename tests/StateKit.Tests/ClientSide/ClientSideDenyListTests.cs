using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Time.Testing;
using StateKit.ClientSide;
using StateKit.Testing;

namespace StateKit.Tests.ClientSide;

/// <summary>
/// A sealed ticket's deadlines are exact, checked without clock skew: a deny entry lives exactly until the last ticket of
/// its id expires, on every path that writes one (revoke, remove-all-keys, rotation, revoke by id).
/// </summary>
public sealed class ClientSideDenyListTests
{
    private readonly FakeTimeProvider _time = new(ClientSideTestKeys.Epoch);
    private readonly RecordingDenyList _denyList = new();

    [Fact]
    public async Task Deny_EveryPath_WritesTheLastDeadlineOfTheId()
    {
        var store = Store();
        var revoked = await NewSessionAsync(store);
        var emptied = await NewSessionAsync(store);
        var rotated = await NewSessionAsync(store);
        _time.Advance(TimeSpan.FromMinutes(5));

        await store.CommitAsync(new SessionCommit { Ticket = revoked.Ticket, Revoke = true });
        await store.CommitAsync(new SessionCommit { Ticket = emptied.Ticket, ClearExisting = true });
        var next = await store.CommitAsync(new SessionCommit { Ticket = rotated.Ticket, RotateId = true, Upserts = Value(2) });
        await store.RevokeAsync("other");

        // Another ticket of the id may have been sealed up to now: it expires an idle timeout from now, or at the absolute deadline.
        var until = _time.GetUtcNow() + SessionStoreContract.IdleTimeout;
        Assert.Equal(
            [(revoked.Id, until), (emptied.Id, until), (rotated.Id, until), ("other", _time.GetUtcNow() + SessionStoreContract.AbsoluteLifetime)],
            _denyList.Entries);
        Assert.NotEqual(rotated.Id, next.SessionId);
    }

    [Fact]
    public async Task Deny_NearTheAbsoluteDeadline_EndsWithIt()
    {
        var store = Store();
        var session = await NewSessionAsync(store);
        var absolute = (await store.LoadAsync(session.Ticket))!.AbsoluteExpiresAt;
        for (var elapsed = TimeSpan.Zero; elapsed < SessionStoreContract.AbsoluteLifetime - SessionStoreContract.IdleTimeout; elapsed += TimeSpan.FromMinutes(15))
        {
            _time.Advance(TimeSpan.FromMinutes(15));
            session = (session.Id, (await store.CommitAsync(new SessionCommit { Ticket = session.Ticket, Upserts = Value(2) })).Ticket!);
        }

        await store.CommitAsync(new SessionCommit { Ticket = session.Ticket, Revoke = true });

        Assert.Equal([(session.Id, absolute)], _denyList.Entries);
    }

    private ClientSideSessionStore Store()
    {
        var options = ClientSideTestKeys.ContractOptions();
        options.DenyList = _denyList;
        return new ClientSideSessionStore(options, _time);
    }

    private static Dictionary<string, ReadOnlyMemory<byte>> Value(byte value) => new() { ["n"] = new[] { value } };

    private static async Task<(string Id, string Ticket)> NewSessionAsync(ClientSideSessionStore store)
    {
        var result = await store.CommitAsync(new SessionCommit { Upserts = Value(1) });
        return (result.SessionId!, result.Ticket!);
    }

    private sealed class RecordingDenyList : ISessionDenyList
    {
        public List<(string Id, DateTimeOffset Until)> Entries { get; } = [];

        public ValueTask<bool> DenyAsync(string sessionId, DateTimeOffset until, CancellationToken cancellationToken = default)
        {
            Entries.Add((sessionId, until));
            return ValueTask.FromResult(true);
        }

        public ValueTask<bool> IsDeniedAsync(string sessionId, CancellationToken cancellationToken = default)
            => ValueTask.FromResult(Entries.Exists(e => e.Id == sessionId));
    }
}
