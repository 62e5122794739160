using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace StateKit.Tests;

/// <summary>
/// The bounded cache of verified tickets both the sticky and the JWT store use: exact-string hits, a bound counted in
/// entries that holds however many threads insert, and a full cache that starts over.
/// </summary>
public sealed class TicketCacheTests
{
    [Fact]
    public void TryGet_RememberedTicket_HitsWithWhatWasFound()
    {
        var cache = new TicketCache<string>(4);
        cache.Add("t1", "found");

        Assert.True(cache.TryGet("t1", out var value));
        Assert.Equal("found", value);
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public void TryGet_AnyOtherString_Misses()
    {
        var cache = new TicketCache<string>(4);
        cache.Add("ticket", "found");

        Assert.False(cache.TryGet("Ticket", out _));
        Assert.False(cache.TryGet("ticket ", out _));
        Assert.False(cache.TryGet("ticke", out _));
        Assert.False(new TicketCache<string>(4).TryGet("ticket", out _));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void Add_CapacityZeroOrLess_RemembersNothing(int capacity)
    {
        var cache = new TicketCache<string>(capacity);
        cache.Add("t1", "found");

        Assert.False(cache.TryGet("t1", out _));
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void Add_WhenFull_ForgetsEverythingAndKeepsTheNewTicket()
    {
        var cache = new TicketCache<string>(3);
        cache.Add("t1", "1");
        cache.Add("t2", "2");
        cache.Add("t3", "3");

        cache.Add("t4", "4");

        Assert.Equal(1, cache.Count);
        Assert.True(cache.TryGet("t4", out _));
        Assert.False(cache.TryGet("t1", out _));
        Assert.False(cache.TryGet("t3", out _));
    }

    [Fact]
    public void Add_RememberedTicketWhenFull_KeepsEveryEntry()
    {
        var cache = new TicketCache<string>(2);
        cache.Add("t1", "1");
        cache.Add("t2", "2");

        cache.Add("t1", "again");

        Assert.Equal(2, cache.Count);
        Assert.True(cache.TryGet("t1", out var value));
        Assert.Equal("1", value);
        Assert.True(cache.TryGet("t2", out _));
    }

    [Fact]
    public void Remove_RememberedTicket_IsForgottenAndFreesItsPlace()
    {
        var cache = new TicketCache<string>(2);
        cache.Add("t1", "1");
        cache.Add("t2", "2");

        cache.Remove("t1");
        cache.Remove("never added");
        cache.Add("t3", "3");

        Assert.Equal(2, cache.Count);
        Assert.False(cache.TryGet("t1", out _));
        Assert.True(cache.TryGet("t2", out _));
        Assert.True(cache.TryGet("t3", out _));
    }

    [Fact]
    public void Capacity_Lowered_AppliesFromTheNextInsert()
    {
        var cache = new TicketCache<string>(10);
        cache.Add("t1", "1");
        cache.Add("t2", "2");

        cache.Capacity = 2;
        cache.Add("t3", "3");

        Assert.Equal(1, cache.Count);
        Assert.True(cache.TryGet("t3", out _));
    }

    [Fact]
    public async Task Add_ChurnFromManyThreads_NeverHoldsMoreEntriesThanTheCapacity()
    {
        const int Capacity = 16;
        const int Tickets = 500;
        var cache = new TicketCache<string>(Capacity);
        var names = Enumerable.Range(0, Tickets).Select(i => "ticket-" + i).ToArray();
        using var done = new CancellationTokenSource();
        var largest = 0;

        // An observer samples the count while writers churn: the bound is an exact count of entries, never overshot by a race.
        var observer = Task.Run(() =>
        {
            while (!done.IsCancellationRequested)
            {
                var count = cache.Count;
                if (count > Volatile.Read(ref largest))
                {
                    Volatile.Write(ref largest, count);
                }
            }
        });
        await Parallel.ForEachAsync(Enumerable.Range(0, 20_000), new ParallelOptions { MaxDegreeOfParallelism = 4 }, (n, ct) =>
        {
            var name = names[(n * 7919) % Tickets];
            if (n % 5 == 0)
            {
                cache.Remove(name);
            }
            else if (!cache.TryGet(name, out _))
            {
                cache.Add(name, name);
            }

            return ValueTask.CompletedTask;
        });
        await done.CancelAsync();
        await observer;

        // Counted by looking every ticket up, not by trusting the counter: the map itself holds at most Capacity entries.
        var held = names.Count(name => cache.TryGet(name, out _));
        Assert.InRange(largest, 1, Capacity);
        Assert.InRange(held, 1, Capacity);
        Assert.Equal(held, cache.Count);
    }
}
