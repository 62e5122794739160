using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Security.Cryptography;
using System.Text.Json;

namespace StateKit.AspNetCore;

/// <summary>
/// What the sync endpoint keeps inside the session, under <see cref="StateKitSyncOptions.LedgerKey"/>: each synced key's
/// version, the time of its last write and a hash of its value, and the answers to the operations it saw (bounded).
/// Stored with the keys it describes, it commits with them in one compare-and-set, so versions never drift from values.
/// </summary>
/// <remarks>
/// No store keeps per-key versions, so the ledger does. The hash is what notices a write that did not come through the
/// endpoint (a handler's <c>session.Set("cart", …)</c>): the value no longer matches, so the key's version moves on and a
/// client that saw the old one conflicts, as it should.
/// </remarks>
internal sealed class SyncLedger
{
    private const int FormatVersion = 1;

    /// <summary>One remembered answer: 8 bytes of the id's SHA-256, the status, the version (little-endian).</summary>
    private const int EntryBytes = 17;

    private readonly Dictionary<string, KeyState> _keys = new(StringComparer.Ordinal);

    // The remembered answers as stored, oldest first, and the ones this pass added. Kept as bytes, not as a dictionary of
    // strings: a full record (hundreds of ids) is read and written on every batch, and is one base64 string on the wire.
    private byte[] _recorded = [];
    private readonly List<(ulong IdHash, RecordedAnswer Answer)> _added = [];

    public IReadOnlyDictionary<string, KeyState> Keys => _keys;

    /// <summary>Reads a stored ledger; anything unreadable (another format, a hand-edited value) starts afresh, which at worst re-applies an old operation once.</summary>
    public static SyncLedger Read(ReadOnlyMemory<byte>? stored)
    {
        var ledger = new SyncLedger();
        if (stored is not { Length: > 0 } bytes)
        {
            return ledger;
        }

        try
        {
            var reader = new Utf8JsonReader(bytes.Span);
            ledger.ReadFrom(ref reader);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            return new SyncLedger();
        }

        return ledger;
    }

    public long Version(string key) => _keys.TryGetValue(key, out var state) ? state.Version : 0;

    public long LastWrite(string key) => _keys.TryGetValue(key, out var state) ? state.LastWrite : 0;

    /// <summary>Brings a key's version up to date with its value; true when the ledger changed (a write from outside the endpoint).</summary>
    public bool Observe(string key, ReadOnlySpan<byte> value, bool exists, long now)
    {
        var hash = exists ? Hash(value) : 0UL;
        if (_keys.TryGetValue(key, out var state))
        {
            if (state.Hash == hash)
            {
                return false;
            }

            _keys[key] = new KeyState(state.Version + 1, now, hash);
            return true;
        }

        if (!exists)
        {
            return false;
        }

        _keys[key] = new KeyState(1, now, hash);
        return true;
    }

    /// <summary>Records a write made by the endpoint; returns the key's new version. Call <see cref="Rehash"/> before storing.</summary>
    public long Wrote(string key, long now)
    {
        var version = Version(key) + 1;
        _keys[key] = new KeyState(version, now, 0UL);
        return version;
    }

    public bool TryGetAnswer(string operationId, out RecordedAnswer answer)
    {
        var idHash = IdHash(operationId);
        foreach (var (hash, added) in _added)
        {
            if (hash == idHash)
            {
                answer = added;
                return true;
            }
        }

        var recorded = _recorded.AsSpan();
        for (var at = recorded.Length - EntryBytes; at >= 0; at -= EntryBytes)
        {
            var entry = recorded.Slice(at, EntryBytes);
            if (BinaryPrimitives.ReadUInt64LittleEndian(entry) == idHash)
            {
                answer = new RecordedAnswer((SyncStatus)entry[8], BinaryPrimitives.ReadInt64LittleEndian(entry[9..]));
                return true;
            }
        }

        answer = default;
        return false;
    }

    /// <summary>Remembers an answer; <see cref="Write"/> keeps the newest <c>capacity</c> of them.</summary>
    public void Remember(string operationId, RecordedAnswer answer) => _added.Add((IdHash(operationId), answer));

    /// <summary>Sets a written key's hash once, from its final value, rather than after every operation of the batch.</summary>
    public void Rehash(string key, ReadOnlySpan<byte> value, bool exists)
    {
        var state = _keys[key];
        _keys[key] = state with { Hash = exists ? Hash(value) : 0UL };
    }

    /// <summary>Drops keys the app no longer syncs, so a ledger cannot grow with keys once configured and later removed.</summary>
    public void Prune(ICollection<string> syncedKeys)
    {
        List<string>? stale = null;
        foreach (var key in _keys.Keys)
        {
            if (!syncedKeys.Contains(key))
            {
                (stale ??= []).Add(key);
            }
        }

        if (stale is not null)
        {
            foreach (var key in stale)
            {
                _keys.Remove(key);
            }
        }
    }

    /// <summary>Writes the ledger, keeping the newest <paramref name="capacity"/> answers, into a buffer sized for it at once.</summary>
    public ArrayBufferWriter<byte> Write(int capacity)
    {
        var total = Math.Min(capacity, (_recorded.Length / EntryBytes) + _added.Count);
        var buffer = new ArrayBufferWriter<byte>(64 + (_keys.Count * 64) + (((total * EntryBytes) + 2) / 3 * 4));
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("f", FormatVersion);
            json.WriteStartObject("k");
            foreach (var (key, state) in _keys)
            {
                json.WriteStartArray(key);
                json.WriteNumberValue(state.Version);
                json.WriteNumberValue(state.LastWrite);
                json.WriteNumberValue(state.Hash);
                json.WriteEndArray();
            }

            json.WriteEndObject();
            var entries = ArrayPool<byte>.Shared.Rent(total * EntryBytes);
            try
            {
                // The newest `total` answers: the tail of the stored ones, then this pass's.
                var fromAdded = Math.Min(total, _added.Count);
                var fromRecorded = total - fromAdded;
                _recorded.AsSpan(_recorded.Length - (fromRecorded * EntryBytes)).CopyTo(entries);
                var at = fromRecorded * EntryBytes;
                for (var i = _added.Count - fromAdded; i < _added.Count; i++, at += EntryBytes)
                {
                    var (hash, answer) = _added[i];
                    BinaryPrimitives.WriteUInt64LittleEndian(entries.AsSpan(at), hash);
                    entries[at + 8] = (byte)answer.Status;
                    BinaryPrimitives.WriteInt64LittleEndian(entries.AsSpan(at + 9), answer.Version);
                }

                json.WriteBase64String("o", entries.AsSpan(0, total * EntryBytes));
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(entries);
            }

            json.WriteEndObject();
        }

        return buffer;
    }

    // 64 bits of SHA-256: the same on every node and every restart (string.GetHashCode is neither), and a client cannot
    // craft a value that collides with the stored one to hide a write.
    private static ulong Hash(ReadOnlySpan<byte> value)
    {
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(value, digest);
        return BinaryPrimitives.ReadUInt64LittleEndian(digest) | 1UL;
    }

    // An id is remembered by 64 bits of its SHA-256: fixed size whatever the client sends, and no id can be crafted to
    // collide with another client's (a session's record holds only its own ids in any case).
    private static ulong IdHash(string operationId)
    {
        Span<byte> utf8 = stackalloc byte[StateKitSyncOptions.MaxOperationIdLength * 3];
        var length = System.Text.Encoding.UTF8.GetBytes(operationId, utf8);
        return Hash(utf8[..length]);
    }

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type)
    {
        if (!reader.Read() || reader.TokenType != type)
        {
            throw new FormatException("Unexpected ledger shape.");
        }
    }

    private void ReadFrom(ref Utf8JsonReader reader)
    {
        Expect(ref reader, JsonTokenType.StartObject);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.GetString();
            switch (name)
            {
                case "f":
                    Expect(ref reader, JsonTokenType.Number);
                    if (reader.GetInt32() != FormatVersion)
                    {
                        throw new FormatException("Unknown ledger format.");
                    }

                    break;
                case "k":
                    Expect(ref reader, JsonTokenType.StartObject);
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        var key = reader.GetString()!;
                        Expect(ref reader, JsonTokenType.StartArray);
                        Expect(ref reader, JsonTokenType.Number);
                        var version = reader.GetInt64();
                        Expect(ref reader, JsonTokenType.Number);
                        var lastWrite = reader.GetInt64();
                        Expect(ref reader, JsonTokenType.Number);
                        var hash = reader.GetUInt64();
                        Expect(ref reader, JsonTokenType.EndArray);
                        _keys[key] = new KeyState(version, lastWrite, hash);
                    }

                    break;
                case "o":
                    Expect(ref reader, JsonTokenType.String);
                    _recorded = reader.GetBytesFromBase64();
                    if (_recorded.Length % EntryBytes != 0)
                    {
                        throw new FormatException("Truncated answer record.");
                    }

                    break;
                default:
                    reader.Skip();
                    break;
            }
        }
    }

    /// <summary>One key's version, when it was last written (Unix milliseconds, server clock) and a hash of its value.</summary>
    internal readonly record struct KeyState(long Version, long LastWrite, ulong Hash);

    /// <summary>What an operation was answered: enough to answer it the same way when it comes again.</summary>
    internal readonly record struct RecordedAnswer(SyncStatus Status, long Version);
}
