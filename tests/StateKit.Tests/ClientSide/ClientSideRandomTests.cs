using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using StateKit.ClientSide;

namespace StateKit.Tests.ClientSide;

public sealed class ClientSideRandomTests
{
    [Fact]
    public void Fill_ManyDraws_EveryByteHandedOutOnceThenWiped()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < 1000; i++)
        {
            // The sizes the store draws: a new session's id and nonce, and a nonce alone.
            var bytes = new byte[i % 2 == 0 ? 28 : 12];
            ClientSideRandom.Fill(bytes);
            Assert.True(seen.Add(Convert.ToHexString(bytes)));

            var batch = ClientSideRandom.CurrentThreadBatch!;
            var offset = ClientSideRandom.CurrentThreadOffset;
            Assert.InRange(offset, bytes.Length, ClientSideRandom.BatchBytes);
            Assert.True(batch.AsSpan(0, offset).IndexOfAnyExcept((byte)0) < 0, "bytes already handed out are wiped");
            Assert.Equal(-1, batch.AsSpan().IndexOf(bytes));
        }
    }

    [Fact]
    public void Fill_AcrossBatches_NeverRepeatsAndIsNotConstant()
    {
        var draws = Enumerable.Range(0, (ClientSideRandom.BatchBytes / 12) * 5).Select(_ =>
        {
            var nonce = new byte[12];
            ClientSideRandom.Fill(nonce);
            return Convert.ToHexString(nonce);
        }).ToList();

        Assert.Equal(draws.Count, draws.Distinct(StringComparer.Ordinal).Count());
        Assert.DoesNotContain(new string('0', 24), draws);
    }

    [Fact]
    public void Fill_LargerThanTheBatchShare_ComesStraightFromTheCsprngAndLeavesTheBatchAlone()
    {
        var small = new byte[12];
        ClientSideRandom.Fill(small);
        var offset = ClientSideRandom.CurrentThreadOffset;

        var large = new byte[4096];
        ClientSideRandom.Fill(large);

        Assert.Equal(offset, ClientSideRandom.CurrentThreadOffset);
        Assert.True(large.AsSpan().IndexOfAnyExcept((byte)0) >= 0);
        Assert.NotEqual(large.AsSpan(0, 2048).ToArray(), large.AsSpan(2048).ToArray());
    }

    [Fact]
    public async Task Fill_FromManyThreads_NoTwoThreadsGetTheSameBytes()
    {
        var all = new ConcurrentBag<string>();
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Factory.StartNew(
            () =>
            {
                for (var i = 0; i < 2000; i++)
                {
                    var nonce = new byte[12];
                    ClientSideRandom.Fill(nonce);
                    all.Add(Convert.ToHexString(nonce));
                }
            },
            TaskCreationOptions.LongRunning)));

        Assert.Equal(all.Count, all.Distinct(StringComparer.Ordinal).Count());
    }
}
