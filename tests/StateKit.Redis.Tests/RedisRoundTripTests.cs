using System.Threading.Tasks;
using StateKit.Redis.Tests.Servers;
using StateKit.Redis.Testing;
using StateKit.Testing;
using Xunit.Abstractions;

namespace StateKit.Redis.Tests;

/// <summary>
/// Commands and round trips per operation, measured on a server only this class uses: what Redis received (MONITOR,
/// script-internal commands excluded) and what the client sent (profiling) must both match; round trips come from the
/// client's send and reply times. A load is the one operation here that pipelines: two commands, one round trip.
/// </summary>
public sealed class RedisRoundTripTests : IClassFixture<RedisFixture>
{
    private readonly RedisFixture _redis;
    private readonly ITestOutputHelper _output;
    private readonly CommandCounter _counter;
    private readonly ISessionStore _store;

    public RedisRoundTripTests(RedisFixture redis, ITestOutputHelper output)
    {
        _redis = redis;
        _output = output;
        _counter = new CommandCounter(redis);
        _store = new RedisSessionStore(redis.Redis, new RedisSessionStoreOptions { KeyPrefix = RedisFixture.UniquePrefix("rt") });
    }

    [Fact]
    public async Task Load_IsOneRoundTrip()
    {
        var ticket = await WarmAsync();

        var counts = await MeasureAsync("load", async () => await _store.Open(ticket).LoadAsync());

        AssertCount(commands: 2, roundTrips: 1, counts);
    }

    [Fact]
    public async Task Commit_ChangedKey_IsOneRoundTrip()
    {
        var ticket = await WarmAsync();
        var session = _store.Open(ticket);
        await session.LoadAsync();
        session.Set("n", 2, ContractJsonContext.Default.Int32);

        var counts = await MeasureAsync("commit (loaded, one key changed)", async () => await session.CommitAsync());

        AssertCount(1, counts);
    }

    [Fact]
    public async Task Commit_Unchanged_IsZeroRoundTrips()
    {
        var ticket = await WarmAsync();
        var session = _store.Open(ticket);
        await session.LoadAsync();
        _ = session.Get("n", ContractJsonContext.Default.Int32);

        var counts = await MeasureAsync("commit (loaded, unchanged)", async () => await session.CommitAsync());

        AssertCount(0, counts);
    }

    [Fact]
    public async Task UntouchedSession_IsZeroRoundTrips()
    {
        var ticket = await WarmAsync();

        var counts = await MeasureAsync("request that never touches its session", async () =>
        {
            var session = _store.Open(ticket);
            await session.CommitAsync();
        });

        AssertCount(0, counts);
    }

    [Fact]
    public async Task BlindWrite_IsOneRoundTripWithoutLoading()
    {
        var ticket = await WarmAsync();
        var session = _store.Open(ticket);
        session.Set("other", 3, ContractJsonContext.Default.Int32);
        session.Remove("gone");

        var counts = await MeasureAsync("blind write (set + remove, no load)", async () => await session.CommitAsync());

        AssertCount(1, counts);
        Assert.False(session.IsLoaded);
    }

    [Fact]
    public async Task NewSession_IsOneRoundTrip()
    {
        await WarmAsync();
        var session = _store.Open(null);
        session.Set("n", 1, ContractJsonContext.Default.Int32);

        var counts = await MeasureAsync("new session", async () => await session.CommitAsync());

        AssertCount(1, counts);
    }

    [Fact]
    public async Task LoadChangeCommit_IsTwoRoundTrips()
    {
        var ticket = await WarmAsync();

        var counts = await MeasureAsync("load + change + commit", async () =>
        {
            var session = _store.Open(ticket);
            var n = await session.GetAsync("n", ContractJsonContext.Default.Int32);
            session.Set("n", n + 1, ContractJsonContext.Default.Int32);
            await session.CommitAsync();
        });

        AssertCount(commands: 3, roundTrips: 2, counts);
    }

    private static void AssertCount(long expected, (long Server, int Client, int RoundTrips) counts)
        => AssertCount(expected, (int)expected, counts);

    private static void AssertCount(long commands, int roundTrips, (long Server, int Client, int RoundTrips) counts)
    {
        Assert.Equal(commands, counts.Client);
        Assert.Equal(roundTrips, counts.RoundTrips);
        if (counts.Server >= 0)
        {
            Assert.Equal(commands, counts.Server);
        }
    }

    private async Task<(long Server, int Client, int RoundTrips)> MeasureAsync(string what, System.Func<Task> action)
    {
        var counts = await _counter.CountAsync(action);
        _output.WriteLine($"{what}: server received {counts.Server} command(s), client sent {counts.Client} in {counts.RoundTrips} round trip(s) ({_redis.Server.Kind})");
        return counts;
    }

    /// <summary>Creates a session and runs every script once, so that NOSCRIPT reloads are not counted.</summary>
    private async Task<string> WarmAsync()
    {
        var session = _store.Open(null);
        session.Set("n", 1, ContractJsonContext.Default.Int32);
        await session.CommitAsync();
        var ticket = session.Ticket!;
        var again = _store.Open(ticket);
        await again.LoadAsync();
        again.Set("warm", 1, ContractJsonContext.Default.Int32);
        await again.CommitAsync();
        return ticket;
    }
}
