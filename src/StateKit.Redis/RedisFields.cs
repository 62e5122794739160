using System;
using System.Collections.Generic;
using System.Text;
using StackExchange.Redis;

namespace StateKit.Redis;

/// <summary>
/// The fields of a session's hash (listed in <see cref="RedisScripts"/>): <c>d:&lt;key&gt;</c> a value,
/// <c>w:&lt;key&gt;</c> the version that last wrote it, <c>m:&lt;name&gt;</c> metadata.
/// </summary>
internal static class RedisFields
{
    /// <summary>The session's version.</summary>
    public const string Version = "m:v";

    /// <summary>The user the session is bound to.</summary>
    public const string User = "m:u";

    /// <summary>
    /// Builds a snapshot from the session's raw hash: <c>d:</c> fields are the values (kept as the buffers the client
    /// already read, not copied again), <c>m:</c> fields the metadata, <c>w:</c> fields only matter to the commit script.
    /// The snapshot's last access is the later of <paramref name="now"/> (the time a script that slid it wrote, or 0) and the
    /// stored one (<paramref name="storedLastAccess"/>, Unix milliseconds).
    /// <see langword="null"/> for no session, or a tombstone (a hash without a version).
    /// </summary>
    public static SessionSnapshot? ReadSnapshot(string id, HashEntry[] fields, long now, out long storedLastAccess)
    {
        var values = new Dictionary<string, ReadOnlyMemory<byte>>(fields.Length / 2, StringComparer.Ordinal);
        long? version = null;
        long created = 0, lastAccess = 0, absolute = 0, idle = 0;
        string? userId = null;
        foreach (var field in fields)
        {
            ReadOnlyMemory<byte> name = field.Name;
            var span = name.Span;
            if (span.Length < 2 || span[1] != (byte)':')
            {
                continue;
            }

            if (span[0] == (byte)'d')
            {
                values[Encoding.UTF8.GetString(span[2..])] = (ReadOnlyMemory<byte>)field.Value;
            }
            else if (span[0] == (byte)'m' && span.Length == 3)
            {
                switch (span[2])
                {
                    case (byte)'v': version = (long)field.Value; break;
                    case (byte)'c': created = (long)field.Value; break;
                    case (byte)'a': lastAccess = (long)field.Value; break;
                    case (byte)'x': absolute = (long)field.Value; break;
                    case (byte)'i': idle = (long)field.Value; break;
                    case (byte)'u': userId = field.Value; break;
                }
            }
        }

        storedLastAccess = lastAccess;
        if (version is null)
        {
            return null;
        }

        return new SessionSnapshot(id, version.Value, values)
        {
            CreatedAt = FromMs(created),
            LastAccessedAt = FromMs(Math.Max(lastAccess, now)),
            AbsoluteExpiresAt = FromMs(absolute),
            IdleTimeout = TimeSpan.FromMilliseconds(idle),
            UserId = string.IsNullOrEmpty(userId) ? null : userId,
        };
    }

    /// <summary>Times in the hash and in replies are Unix milliseconds of the store's clock.</summary>
    public static DateTimeOffset FromMs(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);
}
