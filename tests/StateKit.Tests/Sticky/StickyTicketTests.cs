using System;
using System.Threading.Tasks;
using Microsoft.Extensions.Time.Testing;
using StateKit.Sticky;
using static StateKit.Tests.Sticky.StickyTestKit;

namespace StateKit.Tests.Sticky;

public sealed class StickyTicketTests
{
    private static readonly DateTimeOffset IssuedAt = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Issue_FormatVersion1_MatchesTheByteSnapshot()
    {
        // A change here breaks every ticket in the wild: bump the "s1" prefix instead, and keep reading s1.
        var ticket = StickyTicket.Issue(Key1, "node-a", "AAECAwQFBgcICQoLDA0ODw", IssuedAt);

        Assert.Equal("s1.k1.node-a.AAECAwQFBgcICQoLDA0ODw.1795694400.PJEfjwvPwzxS7pHZwLRySWhkWAVIvK11LVvPdKnqcEg", ticket);
    }

    [Fact]
    public void TryReadNodeId_ValidTicket_ReturnsTheNode()
    {
        var ticket = StickyTicket.Issue(Key1, "node-b", "AAECAwQFBgcICQoLDA0ODw", IssuedAt);

        Assert.True(StickyTicket.TryReadNodeId(ticket, [Key1], out var node));
        Assert.Equal("node-b", node);
    }

    [Fact]
    public void TryReadNodeId_AnyCharacterChanged_Fails()
    {
        var ticket = StickyTicket.Issue(Key1, "node-b", "AAECAwQFBgcICQoLDA0ODw", IssuedAt);
        for (var i = 0; i < ticket.Length; i++)
        {
            var chars = ticket.ToCharArray();
            chars[i] = chars[i] == 'x' ? 'y' : 'x';
            Assert.False(StickyTicket.TryReadNodeId(new string(chars), [Key1], out _), $"changed at {i}: {new string(chars)}");
        }

        Assert.False(StickyTicket.TryReadNodeId(ticket[..^1], [Key1], out _));
        Assert.False(StickyTicket.TryReadNodeId(ticket + "A", [Key1], out _));
    }

    [Fact]
    public void TryReadNodeId_NodeSwappedByTheClient_Fails()
    {
        var ticket = StickyTicket.Issue(Key1, "node-a", "AAECAwQFBgcICQoLDA0ODw", IssuedAt);

        Assert.False(StickyTicket.TryReadNodeId(ticket.Replace("node-a", "node-b", StringComparison.Ordinal), [Key1], out _));
    }

    [Fact]
    public void TryReadNodeId_SignedWithAKeyOutsideTheRing_Fails()
    {
        var forged = StickyTicket.Issue(new StickyKey { Id = "k1", Secret = new byte[32] }, "node-a", "AAECAwQFBgcICQoLDA0ODw", IssuedAt);

        Assert.False(StickyTicket.TryReadNodeId(forged, [Key1, Key2], out _));
    }

    [Fact]
    public void TryReadNodeId_KeyRotation_OldKeyStillVerifiesUntilRemoved()
    {
        var old = StickyTicket.Issue(Key1, "node-a", "AAECAwQFBgcICQoLDA0ODw", IssuedAt);
        var fresh = StickyTicket.Issue(Key2, "node-a", "AAECAwQFBgcICQoLDA0ODw", IssuedAt);

        Assert.True(StickyTicket.TryReadNodeId(old, [Key2, Key1], out _));
        Assert.True(StickyTicket.TryReadNodeId(fresh, [Key2, Key1], out _));
        Assert.False(StickyTicket.TryReadNodeId(old, [Key2], out _));
        Assert.False(StickyTicket.TryReadNodeId(fresh, [Key1], out _));
    }

    [Fact]
    public void TryReadNodeId_SecretReplacedInPlace_VerifiesOnlyUnderTheNewBytes()
    {
        // HMAC instances are reused per secret: one kept for the old bytes must not verify under the new ones.
        var key = new StickyKey { Id = "k1", Secret = [.. Key1.Secret] };
        var before = StickyTicket.Issue(key, "node-a", "AAECAwQFBgcICQoLDA0ODw", IssuedAt);
        Assert.True(StickyTicket.TryReadNodeId(before, [key], out _));

        key.Secret[0] ^= 1;

        Assert.False(StickyTicket.TryReadNodeId(before, [key], out _));
        Assert.True(StickyTicket.TryReadNodeId(StickyTicket.Issue(key, "node-a", "AAECAwQFBgcICQoLDA0ODw", IssuedAt), [key], out _));
    }

    [Fact]
    public void TryReadNodeId_MoreKeysThanAThreadKeepsInstancesFor_EachVerifiesOnlyItsOwn()
    {
        var keys = new StickyKey[9];
        for (var i = 0; i < keys.Length; i++)
        {
            keys[i] = new StickyKey { Id = "k" + i, Secret = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32) };
        }

        for (var round = 0; round < 3; round++)
        {
            for (var i = 0; i < keys.Length; i++)
            {
                var ticket = StickyTicket.Issue(keys[i], "node-a", "AAECAwQFBgcICQoLDA0ODw", IssuedAt);
                Assert.True(StickyTicket.TryReadNodeId(ticket, keys, out _));
                var impostor = new StickyKey { Id = keys[i].Id, Secret = keys[(i + 1) % keys.Length].Secret };
                Assert.False(StickyTicket.TryReadNodeId(StickyTicket.Issue(impostor, "node-a", "AAECAwQFBgcICQoLDA0ODw", IssuedAt), keys, out _));
            }
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("s1")]
    [InlineData("s1.k1.node-a.AAECAwQFBgcICQoLDA0ODw.1795694400")]
    [InlineData("s2.k1.node-a.AAECAwQFBgcICQoLDA0ODw.1795694400.PJEfjwvPwzxS7pHZwLRySWhkWAVIvK11LVvPdKnqcEg")]
    [InlineData("s1.k1.node a.AAECAwQFBgcICQoLDA0ODw.1795694400.PJEfjwvPwzxS7pHZwLRySWhkWAVIvK11LVvPdKnqcEg")]
    [InlineData("s1.k1.node-a.AAECAwQFBgcICQoLDA0ODw.-1795694400.PJEfjwvPwzxS7pHZwLRySWhkWAVIvK11LVvPdKnqcEg")]
    [InlineData("s1.k1.node-a.AAECAwQFBgcICQoLDA0ODw.1795694400.PJEfjwvPwzxS7pHZwLRySWhkWAVIvK11LVvPdKnqcEg.x")]
    public void TryReadNodeId_Malformed_Fails(string ticket)
        => Assert.False(StickyTicket.TryReadNodeId(ticket, [Key1], out _));

    [Fact]
    public async Task Load_TicketOlderThanTheAbsoluteLifetime_IsNoSession()
    {
        var time = new FakeTimeProvider(IssuedAt);
        var store = new StickySessionStore(Options("node-a"), null, time);
        var ticket = await CreateAsync(store, 1);

        time.Advance(Testing.SessionStoreContract.AbsoluteLifetime + TimeSpan.FromSeconds(1));

        Assert.Null(await store.LoadAsync(ticket));
    }

    [Fact]
    public async Task Load_TicketIssuedInTheFuture_IsNoSession()
    {
        var time = new FakeTimeProvider(IssuedAt);
        var store = new StickySessionStore(Options("node-a"), null, time);
        var ticket = await CreateAsync(store, 1);
        var id = (await store.LoadAsync(ticket))!.Id;

        var future = StickyTicket.Issue(Key1, "node-a", id, IssuedAt.AddHours(1));

        Assert.Null(await store.LoadAsync(future));
        Assert.NotNull(await store.LoadAsync(ticket));
    }

    [Fact]
    public async Task Load_TicketNamingAnotherNodeForgedWithoutTheKey_LoadsNothing()
    {
        var time = new FakeTimeProvider(IssuedAt);
        var store = new StickySessionStore(Options("node-a"), null, time);
        var ticket = await CreateAsync(store, 1);
        var id = (await store.LoadAsync(ticket))!.Id;

        var forged = StickyTicket.Issue(new StickyKey { Id = "k1", Secret = new byte[32] }, "node-a", id, IssuedAt);

        Assert.Null(await store.LoadAsync(forged));
    }

    [Fact]
    public void Options_Invalid_ReportsEveryErrorOnce()
    {
        var options = new StickySessionStoreOptions { NodeId = "bad node", BackupQueueCapacity = 0, DrainTimeout = TimeSpan.Zero };
        options.Keys.Add(new StickyKey { Id = "k1", Secret = new byte[8] });
        options.Keys.Add(new StickyKey { Id = "k1", Secret = new byte[32] });

        var errors = options.GetValidationErrors();

        Assert.Contains(errors, e => e.Contains("NodeId", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("appears twice", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("at least 32", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("BackupQueueCapacity", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("DrainTimeout", StringComparison.Ordinal));
    }
}
