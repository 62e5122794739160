using System;
using System.IO;
using System.Linq;

namespace StateKit.Redis.Testing;

/// <summary>Whether a real <c>redis-server</c> is on PATH, and whether this run insists on one (CI does).</summary>
public static class RedisServerAvailability
{
    public const string RequireVariable = "STATEKIT_REQUIRE_REDIS_SERVER";

    public static readonly string? RedisServerPath = Find("redis-server");

    public static readonly string? RedisCliPath = Find("redis-cli");

    public static bool IsOnPath => RedisServerPath is not null && RedisCliPath is not null;

    public static bool IsRequired => Environment.GetEnvironmentVariable(RequireVariable) == "1";

    public static string MissingMessage =>
        $"redis-server and redis-cli are not on PATH (install the Debian package redis-server). {RequireVariable}=1 requires them.";

    private static string? Find(string name) => (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
        .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
        .Select(dir => Path.Combine(dir, name))
        .FirstOrDefault(File.Exists);
}
