using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Security.Cryptography;
using System.Threading;
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

    [Fact]
    public void Fill_SourceFailsOnTheThreadsFirstUse_LaterCallsNeverHandOutUnfilledBytes()
    {
        var results = OnFreshThread(() =>
        {
            ClientSideRandom.CurrentThreadSourceForTests = _ => throw new CryptographicException("no entropy");
            try
            {
                Assert.Throws<CryptographicException>(() => ClientSideRandom.Fill(new byte[12]));

                // Still failing: the next call must fail too, not hand out the batch that was never filled.
                var nonce = new byte[12];
                var second = Record.Exception(() => ClientSideRandom.Fill(nonce));
                Assert.True(second is CryptographicException, $"the second draw returned {Convert.ToHexString(nonce)} instead of failing");
            }
            finally
            {
                ClientSideRandom.CurrentThreadSourceForTests = null;
            }

            var after = new byte[12];
            ClientSideRandom.Fill(after);
            return after;
        });

        Assert.True(results.AsSpan().IndexOfAnyExcept((byte)0) >= 0);
    }

    [Fact]
    public void Fill_RefillFailsHalfway_NothingOfThatBatchIsHandedOut()
    {
        OnFreshThread(() =>
        {
            // Use up most of a good batch, so that a 12-byte draw needs a refill while a 4-byte one would still fit.
            var used = new byte[12];
            while (ClientSideRandom.CurrentThreadOffset <= ClientSideRandom.BatchBytes - 12)
            {
                ClientSideRandom.Fill(used);
            }

            ClientSideRandom.CurrentThreadSourceForTests = bytes =>
            {
                bytes.Clear();
                throw new CryptographicException("failed halfway");
            };
            try
            {
                Assert.Throws<CryptographicException>(() => ClientSideRandom.Fill(new byte[12]));
                Assert.Throws<CryptographicException>(() => ClientSideRandom.Fill(new byte[4]));
            }
            finally
            {
                ClientSideRandom.CurrentThreadSourceForTests = null;
            }

            return used;
        });
    }

    /// <summary>Runs <paramref name="body"/> on a new thread, whose per-thread batch does not exist yet.</summary>
    private static T OnFreshThread<T>(Func<T> body)
    {
        T result = default!;
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                result = body();
            }
            catch (Exception e)
            {
                error = e;
            }
        });
        thread.Start();
        thread.Join();
        if (error is not null)
        {
            throw new InvalidOperationException("The test body failed on its thread.", error);
        }

        return result;
    }
}
