using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Security.Cryptography;
using System.Text.Json;

namespace StateKit.AspNetCore;

/// <summary>
/// What the sync endpoint keeps inside the session, under <see cref="StateKitSyncOptions.LedgerKey"/>: each synced key's
/// version, the time of its last write and a hash of its value, and the ids of the operations it answered (bounded).
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

    private readonly Dictionary<string, KeyState> _keys = new(StringComparer.Ordinal);
    private readonly Dictionary<string, RecordedAnswer> _answers = new(StringComparer.Ordinal);
    private readonly Queue<string> _order = new();

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

    /// <summary>Records a write made by the endpoint; returns the key's new version.</summary>
    public long Wrote(string key, ReadOnlySpan<byte> value, bool exists, long now)
    {
        var version = Version(key) + 1;
        _keys[key] = new KeyState(version, now, exists ? Hash(value) : 0UL);
        return version;
    }

    public bool TryGetAnswer(string operationId, out RecordedAnswer answer) => _answers.TryGetValue(operationId, out answer);

    public void Remember(string operationId, RecordedAnswer answer, int capacity)
    {
        if (_answers.TryAdd(operationId, answer))
        {
            _order.Enqueue(operationId);
        }

        while (_order.Count > capacity)
        {
            _answers.Remove(_order.Dequeue());
        }
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

    public byte[] ToBytes()
    {
        var buffer = new ArrayBufferWriter<byte>(256);
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
            json.WriteStartArray("o");
            foreach (var id in _order)
            {
                var answer = _answers[id];
                json.WriteStartArray();
                json.WriteStringValue(id);
                json.WriteNumberValue((int)answer.Status);
                json.WriteNumberValue(answer.Version);
                json.WriteEndArray();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    // 64 bits of SHA-256: the same on every node and every restart (string.GetHashCode is neither), and a client cannot
    // craft a value that collides with the stored one to hide a write.
    private static ulong Hash(ReadOnlySpan<byte> value)
    {
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(value, digest);
        return BinaryPrimitives.ReadUInt64LittleEndian(digest) | 1UL;
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
                    Expect(ref reader, JsonTokenType.StartArray);
                    while (reader.Read() && reader.TokenType == JsonTokenType.StartArray)
                    {
                        Expect(ref reader, JsonTokenType.String);
                        var id = reader.GetString()!;
                        Expect(ref reader, JsonTokenType.Number);
                        var status = (SyncStatus)reader.GetInt32();
                        Expect(ref reader, JsonTokenType.Number);
                        var version = reader.GetInt64();
                        Expect(ref reader, JsonTokenType.EndArray);
                        if (_answers.TryAdd(id, new RecordedAnswer(status, version)))
                        {
                            _order.Enqueue(id);
                        }
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
