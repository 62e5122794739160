using System;
using System.Security.Cryptography;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.DataProtection;
using StateKit;
using StateKit.ClientSide;

namespace StateKit.Benchmarks;

/// <summary>
/// Seal + open of a 1 KB session: the client-side store through its public API (commit a new session, load its ticket),
/// against raw AesGcm over the same 1 KB (the floor) and ASP.NET Core Data Protection Protect + Unprotect (what cookie
/// auth and TempData use).
/// </summary>
[MemoryDiagnoser]
public class ClientSideSealBenchmarks
{
    private readonly byte[] _value = new byte[1024 - 5];
    private readonly byte[] _plaintext = new byte[1024];
    private readonly byte[] _ciphertext = new byte[1024];
    private readonly byte[] _tag = new byte[16];
    private readonly byte[] _opened = new byte[1024];
    private readonly byte[] _nonce = new byte[12];
    private AesGcm _aes = null!;
    private ClientSideSessionStore _store = null!;
    private IDataProtector _protector = null!;
    private SessionSnapshot _session = null!;
    private DateTimeOffset _now;

    [GlobalSetup]
    public void Setup()
    {
        Random.Shared.NextBytes(_value);
        Random.Shared.NextBytes(_plaintext);
        _aes = new AesGcm(RandomNumberGenerator.GetBytes(32), 16);
        var options = new ClientSideSessionStoreOptions { Purpose = "bench", MaxPayloadBytes = 4096, MaxTicketLength = 8000 };
        options.Keys.Add(ClientSideKey.Generate(1));
        _store = new ClientSideSessionStore(options);
        _protector = new EphemeralDataProtectionProvider().CreateProtector("bench");
        _now = TimeProvider.System.GetUtcNow();
        _session = new SessionSnapshot(SessionIds.NewId(), 1, new System.Collections.Generic.Dictionary<string, ReadOnlyMemory<byte>> { ["value"] = _value })
        {
            CreatedAt = _now,
            LastAccessedAt = _now,
            AbsoluteExpiresAt = _now + TimeSpan.FromHours(1),
            IdleTimeout = TimeSpan.FromMinutes(20),
        };
    }

    [GlobalCleanup]
    public void Cleanup() => _aes.Dispose();

    /// <summary>AES-256-GCM encrypt + decrypt of 1 KB with a fresh random nonce: the cost of the cipher alone.</summary>
    [Benchmark(Baseline = true)]
    public byte RawAesGcm()
    {
        RandomNumberGenerator.Fill(_nonce);
        _aes.Encrypt(_nonce, _plaintext, _ciphertext, _tag);
        _aes.Decrypt(_nonce, _ciphertext, _tag, _opened);
        return _opened[0];
    }

    /// <summary>The store's public path: a new session holding one 1 KB key ("value" + 1019 bytes) committed, then loaded.</summary>
    [Benchmark]
    public async Task<long> StateKitCommitAndLoad()
    {
        var commit = await _store.CommitAsync(new SessionCommit { Upserts = new System.Collections.Generic.Dictionary<string, ReadOnlyMemory<byte>> { ["value"] = _value } });
        var loaded = await _store.LoadAsync(commit.Ticket!);
        return loaded!.Version;
    }

    /// <summary>
    /// Seal + open alone (internal API): serialize the 1 KB session, encrypt, base64url — then check, decode, decrypt and
    /// parse it back. No id to mint and no delta to apply: the part of the public path that Data Protection and raw
    /// AesGcm are the comparison for.
    /// </summary>
    [Benchmark]
    public long StateKitSealAndOpen() => _store.Open(_store.Seal(_session), _now)!.Version;

    /// <summary>Data Protection's default algorithms (AES-256-CBC + HMACSHA256) over the same 1 KB.</summary>
    [Benchmark]
    public byte DataProtectionProtectUnprotect()
    {
        var protectedBytes = _protector.Protect(_plaintext);
        return _protector.Unprotect(protectedBytes)[0];
    }
}
