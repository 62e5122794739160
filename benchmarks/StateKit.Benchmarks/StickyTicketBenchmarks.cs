using System;
using System.Security.Cryptography;
using System.Text;
using BenchmarkDotNet.Attributes;
using StateKit.Sticky;

namespace StateKit.Benchmarks;

/// <summary>
/// A sticky ticket's HMAC, paid on a node for a ticket it has not seen (or remembered) yet, on every issue, and by a proxy
/// that verifies on every request: a one-shot <see cref="HMACSHA256.HashData(byte[], byte[])"/> of a ticket body (what
/// verification cost before), against the full verification and issue.
/// </summary>
[MemoryDiagnoser]
public class StickyTicketBenchmarks
{
    private static readonly StickyKey[] Ring = [new StickyKey { Id = "k1", Secret = RandomNumberGenerator.GetBytes(32) }];
    private readonly byte[] _mac = new byte[32];
    private string _ticket = null!;
    private byte[] _body = null!;

    [GlobalSetup]
    public void Setup()
    {
        _ticket = StickyTicket.Issue(Ring[0], "node-a", SessionIds.NewId(), DateTimeOffset.UtcNow);
        _body = Encoding.ASCII.GetBytes(_ticket[.._ticket.LastIndexOf('.')]);
    }

    /// <summary>A one-shot HMAC-SHA256 of the ticket's body: the key is set up again on every call.</summary>
    [Benchmark(Baseline = true)]
    public int OneShotHmac() => HMACSHA256.HashData(Ring[0].Secret, _body, _mac);

    /// <summary>Parse and verify a ticket, as a node does on a miss and the proxy on every request.</summary>
    [Benchmark]
    public bool Verify() => StickyTicket.TryRead(_ticket, Ring, out _);

    /// <summary>Sign a new ticket.</summary>
    [Benchmark]
    public string Issue() => StickyTicket.Issue(Ring[0], "node-a", "AAECAwQFBgcICQoLDA0ODw", DateTimeOffset.UnixEpoch);
}
