using System;
using System.IO;
using System.Threading.Tasks;
using Microsoft.Data.Sqlite;
using NeoSmart.Caching.Sqlite;
using StateKit.Distributed;
using StateKit.Testing;

namespace StateKit.Tests.Distributed;

/// <summary>
/// The shared contract over a database-backed cache: NeoSmart's SQLite <c>IDistributedCache</c>, on a database file of
/// this test's own in the temp directory (deleted afterwards).
/// </summary>
public sealed class DistributedCacheSessionStoreSqliteContractTests : SessionStoreContract, IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"statekit-sqlite-contract-{Guid.NewGuid():N}.db");
    private SqliteCache? _cache;

    // SQLitePCLRaw 3 leaves choosing the native provider to the application; the bundle's is the one NeoSmart ships for.
    static DistributedCacheSessionStoreSqliteContractTests() => SQLitePCL.Batteries_V2.Init();

    public void Dispose()
    {
        _cache?.Dispose();
        SqliteConnection.ClearAllPools();
        foreach (var file in new[] { _path, _path + "-wal", _path + "-shm" })
        {
            File.Delete(file);
        }
    }

    protected override ISessionStore CreateStore()
    {
        // No background sweep: an expired row is already invisible to reads, and the sweep would run on its own timer.
        _cache = new SqliteCache(new SqliteCacheOptions { CachePath = _path, CleanupInterval = null });
        return new DistributedCacheSessionStore(
            new RealClockDistributedCache(_cache, Time),
            new DistributedCacheSessionStoreOptions
            {
                IdleTimeout = IdleTimeout,
                AbsoluteLifetime = AbsoluteLifetime,
                MaxPayloadBytes = MaxPayloadBytes,
            },
            Time);
    }

    /// <summary>The cache compares its rows' expiry (UTC ticks) with the machine's clock: time passing moves them closer.</summary>
    protected override async Task AdvanceAsync(TimeSpan by)
    {
        await base.AdvanceAsync(by);
        _ = Store;
        await using var connection = new SqliteConnection($"Data Source={_path}");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE cache SET expiry = expiry - $ticks WHERE expiry IS NOT NULL";
        command.Parameters.AddWithValue("$ticks", by.Ticks);
        await command.ExecuteNonQueryAsync();
    }
}
