using System;
using System.Globalization;
using System.Threading.Tasks;

namespace StateKit.Benchmarks.Infrastructure;

/// <summary>The redis-server process's own CPU time, read from <c>INFO cpu</c>: deltas over a window give its CPU per request.</summary>
public static class RedisServerCpu
{
    /// <summary>User + system CPU seconds the redis-server has used so far; <see langword="null"/> for Garnet, which runs in this process.</summary>
    public static async Task<double?> SecondsAsync(BenchRedis redis)
    {
        if (!redis.Server.IsRealRedis)
        {
            return null;
        }

        var info = await redis.Admin.GetServer(redis.Server.Endpoint).InfoRawAsync("cpu") ?? string.Empty;
        double seconds = 0;
        foreach (var line in info.Split('\n'))
        {
            if (line.StartsWith("used_cpu_user:", StringComparison.Ordinal) || line.StartsWith("used_cpu_sys:", StringComparison.Ordinal))
            {
                seconds += double.Parse(line.AsSpan(line.IndexOf(':', StringComparison.Ordinal) + 1).Trim(), CultureInfo.InvariantCulture);
            }
        }

        return seconds;
    }
}
