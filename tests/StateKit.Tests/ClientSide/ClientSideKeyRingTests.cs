using System;
using System.Collections.Generic;
using System.Linq;
using System.Security.Cryptography;
using System.Threading.Tasks;
using StateKit.ClientSide;

namespace StateKit.Tests.ClientSide;

public sealed class ClientSideKeyRingTests
{
    [Fact]
    public void Rent_WhileHeld_NeverHandsOutTheSameInstanceTwice()
    {
        var key = Ring().Current.Version1Ciphers;
        var held = Enumerable.Range(0, (Environment.ProcessorCount * 2) + 3).Select(_ => key.Rent()).ToList();

        Assert.Equal(held.Count, held.Distinct(ReferenceEqualityComparer.Instance).Count());
        held.ForEach(key.Return);
    }

    [Fact]
    public void Return_MoreThanTheBound_KeepsAtMostTwiceTheCoresAndReusesThem()
    {
        var key = Ring().Current.Version1Ciphers;
        var bound = Environment.ProcessorCount * 2;
        var held = Enumerable.Range(0, bound + 3).Select(_ => key.Rent()).ToList();
        held.ForEach(key.Return);

        Assert.Equal(bound, key.IdleCount);
        var again = Enumerable.Range(0, bound).Select(_ => key.Rent()).ToList();
        Assert.All(again, aes => Assert.Contains(aes, held));
        Assert.Equal(0, key.IdleCount);

        // The three over the bound were disposed, not pooled: a new renter gets a fresh, working instance.
        var fresh = key.Rent();
        Assert.DoesNotContain(fresh, held);
        Span<byte> tag = stackalloc byte[16];
        fresh.Encrypt(new byte[12], [1, 2, 3], new byte[3], tag);
        key.Return(fresh);
        again.ForEach(key.Return);
    }

    [Fact]
    public async Task RentAndReturn_FromManyThreads_EachInstanceHasOneUserAtATime()
    {
        var key = Ring().Current.Version1Ciphers;
        var inUse = new HashSet<object>(ReferenceEqualityComparer.Instance);
        var clash = false;

        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
        {
            for (var i = 0; i < 20_000; i++)
            {
                var aes = key.Rent();
                lock (inUse)
                {
                    clash |= !inUse.Add(aes);
                }

                lock (inUse)
                {
                    inUse.Remove(aes);
                }

                key.Return(aes);
            }
        })));

        Assert.False(clash);
        Assert.InRange(key.IdleCount, 1, Environment.ProcessorCount * 2);
    }

    [Fact]
    public void AssociatedData_IsTheDocumentedHeaderAndPurposeOfEachKey()
    {
        var ring = new ClientSideKeyRing([(7, RandomNumberGenerator.GetBytes(32)), (0x01020304, RandomNumberGenerator.GetBytes(32))], "app/.cart");

        Assert.True(ring.TryGet(7, out var seven));
        Assert.Equal([2, 0, 0, 0, 7, .. "StateKit.ClientSide.v2\0app/.cart"u8], seven.AssociatedData);
        Assert.Equal([2, 1, 2, 3, 4, .. "StateKit.ClientSide.v2\0app/.cart"u8], ring.Current.AssociatedData);
        Assert.Equal([1, 0, 0, 0, 7, .. "StateKit.ClientSide.v1\0app/.cart"u8], seven.Version1AssociatedData);
        Assert.Equal([1, 1, 2, 3, 4, .. "StateKit.ClientSide.v1\0app/.cart"u8], ring.Current.Version1AssociatedData);
    }

    private static ClientSideKeyRing Ring() => new([(1, RandomNumberGenerator.GetBytes(32))], "tests");
}
