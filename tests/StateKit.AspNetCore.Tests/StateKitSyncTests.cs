using System;
using System.Linq;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using CsCheck;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using StateKit.DependencyInjection;
using StateKit.Testing;

namespace StateKit.AspNetCore.Tests;

/// <summary>The offline sync endpoint on the in-memory store: the protocol, the policies, idempotency and what a bad batch gets.</summary>
public sealed class StateKitSyncTests
{
    private const string Cookie = "__Host-statekit";

    private static readonly FakeTimeProvider Clock = new(new DateTimeOffset(2026, 11, 30, 9, 0, 0, TimeSpan.Zero));

    [Fact]
    public async Task CounterAdds_FromTwoClientsOfOneCart_AddUp()
    {
        await using var app = await StartAsync();
        var phone = new SyncClient(app.Client);

        // A new visitor's first batch creates the session and gets its cookie.
        var first = await phone.SendAsync(SyncClient.Add("p1", "cart", "tea", 2, 0));
        Assert.Equal(200, first.HttpStatus);
        Assert.Equal("applied", first.Status(0));
        Assert.Contains(Cookie, app.Client.Cookies.Keys);

        // A second device of the same cart, offline since version 1: its two adds and the phone's one all count.
        var laptop = new SyncClient(new CookieClient(app.Client.Http) { Cookies = { [Cookie] = app.Client.Cookies[Cookie] } });
        await phone.SendAsync(SyncClient.Add("p2", "cart", "tea", 1, 1));
        var merged = await laptop.SendAsync(SyncClient.Add("l1", "cart", "tea", 3, 1), SyncClient.Add("l2", "cart", "mug", 1, 1));

        Assert.Equal(["merged", "merged"], [merged.Status(0), merged.Status(1)]);
        Assert.Equal("""{"tea":6,"mug":1}""", merged.Value("cart"));
        Assert.Equal(4, merged.Version("cart"));
        Assert.Equal("""{"tea":6,"mug":1}""", await phone.RawAsync("cart"));
    }

    [Fact]
    public async Task EveryAnswer_CarryingTheSessionsValues_OrAProblem_IsNoStore()
    {
        await using var app = await StartAsync();
        var client = new SyncClient(app.Client);

        var applied = await client.SendAsync(SyncClient.Add("a", "cart", "tea", 1, 0));
        var read = await client.PostAsync(SyncClient.Read("cart"));
        var refused = await client.PostAsync("{}");

        Assert.Equal([200, 200, 400], [applied.HttpStatus, read.HttpStatus, refused.HttpStatus]);
        Assert.All(new[] { applied, read, refused }, r => Assert.Equal("no-store", r.CacheControl));
    }

    [Fact]
    public async Task SameBatchTwice_SecondChangesNothingAndIsAnsweredAsTheFirst()
    {
        await using var app = await StartAsync();
        var client = new SyncClient(app.Client);
        await client.SendAsync(SyncClient.Set("seed", "note", "server", 0));
        var batch = SyncClient.Batch(
            SyncClient.Add("a", "cart", "tea", 1, 0),
            SyncClient.SetMember("b", "tags", "gift", add: true, 0),
            SyncClient.Set("c", "note", "stale", 0));     // conflicts: the note is at version 1

        var first = await client.PostAsync(batch);
        var cart = await client.RawAsync("cart");
        var ledger = await client.RawAsync(StateKitSyncOptions.LedgerKey);
        var second = await client.PostAsync(batch);

        Assert.Equal(["applied", "applied", "rejected"], Enumerable.Range(0, 3).Select(first.Status));
        Assert.Equal(["applied", "applied", "rejected"], Enumerable.Range(0, 3).Select(second.Status));
        Assert.All(Enumerable.Range(0, 3), i => Assert.True(second.Result(i)["replayed"]!.GetValue<bool>()));
        Assert.Equal(first.Version("cart"), second.Version("cart"));
        Assert.Equal("""{"tea":1}""", cart);
        Assert.Equal(cart, await client.RawAsync("cart"));
        Assert.Equal("""["gift"]""", await client.RawAsync("tags"));
        Assert.Equal(ledger, await client.RawAsync(StateKitSyncOptions.LedgerKey));
    }

    [Fact]
    public async Task ConflictingSet_ServerWins_IsRejectedWithTheServersValueAndVersion()
    {
        await using var app = await StartAsync();
        var client = new SyncClient(app.Client);
        await client.SendAsync(SyncClient.Set("1", "note", "v1", 0));
        await client.SendAsync(SyncClient.Set("2", "note", "v2", 1));

        var reply = await client.SendAsync(SyncClient.Set("3", "note", "offline edit", 1));

        Assert.Equal("rejected", reply.Status(0));
        Assert.Equal("conflict", reply.Result(0)["reason"]!.GetValue<string>());
        Assert.Equal(2, reply.Result(0)["serverVersion"]!.GetValue<long>());
        Assert.Equal("\"v2\"", reply.Result(0)["value"]!.ToJsonString());
        Assert.Equal("\"v2\"", await client.RawAsync("note"));
    }

    [Fact]
    public async Task ConflictingRemove_ClientWins_IsApplied()
    {
        await using var app = await StartAsync();
        var client = new SyncClient(app.Client);
        await client.SendAsync(SyncClient.Set("1", "draft", "v1", 0));
        await client.SendAsync(SyncClient.Set("2", "draft", "v2", 1));

        var reply = await client.SendAsync(SyncClient.Remove("3", "draft", 1));

        Assert.Equal("applied", reply.Status(0));
        Assert.Equal(3, reply.Version("draft"));
        Assert.Null(reply.Value("draft"));
        Assert.Null(await client.RawAsync("draft"));
    }

    [Fact]
    public async Task ConflictingSet_LastWriterWins_GoesToTheLaterWrite_AndAClockAheadCountsAsNow()
    {
        await using var app = await StartAsync();
        var client = new SyncClient(app.Client);
        var now = Clock.GetUtcNow().ToUnixTimeMilliseconds();
        await client.SendAsync(SyncClient.Set("1", "title", "v1", 0));
        await client.SendAsync(SyncClient.Set("2", "title", "server", 1));

        var older = await client.SendAsync(SyncClient.Set("3", "title", "recorded before", 1, at: now - 60_000));
        var ahead = await client.SendAsync(SyncClient.Set("4", "title", "from the future", 1, at: now + 3_600_000));

        Assert.Equal("rejected", older.Status(0));
        Assert.Equal("applied", ahead.Status(0));
        Assert.Equal("\"from the future\"", await client.RawAsync("title"));
    }

    [Fact]
    public async Task ConflictingSet_Merge_StoresWhatTheDelegateReturns()
    {
        await using var app = await StartAsync();
        var client = new SyncClient(app.Client);
        await client.SendAsync(SyncClient.Set("1", "prefs", new JsonObject { ["theme"] = "dark" }, 0));
        await client.SendAsync(SyncClient.Set("2", "prefs", new JsonObject { ["theme"] = "light" }, 1));

        var reply = await client.SendAsync(SyncClient.Set("3", "prefs", new JsonObject { ["font"] = "large" }, 1));

        Assert.Equal("merged", reply.Status(0));
        Assert.Equal("""{"theme":"light","font":"large"}""", await client.RawAsync("prefs"));
    }

    [Fact]
    public async Task ConflictingSet_MergeDelegateThrows_RejectsThatOperation_AndTheRestOfTheBatchApplies()
    {
        await using var app = await StartAsync(o => o.Keys["strict"] = SyncPolicy.Merge(_ => throw new InvalidOperationException("cannot merge")));
        var client = new SyncClient(app.Client);
        await client.SendAsync(SyncClient.Set("1", "strict", "v1", 0));
        await client.SendAsync(SyncClient.Set("2", "strict", "v2", 1));

        var reply = await client.SendAsync(SyncClient.Set("3", "strict", "offline", 1), SyncClient.Add("4", "cart", "tea", 1, 0));

        Assert.Equal(200, reply.HttpStatus);
        Assert.Equal(["rejected", "applied"], Enumerable.Range(0, 2).Select(reply.Status));
        Assert.Equal("merge-failed", reply.Result(0)["reason"]!.GetValue<string>());
        Assert.Equal("\"v2\"", await client.RawAsync("strict"));
        Assert.Equal("""{"tea":1}""", await client.RawAsync("cart"));
    }

    [Fact]
    public async Task KeyWrittenByAHandler_MovesItsVersion_SoAStaleSetConflicts()
    {
        await using var app = await StartAsync();
        var client = new SyncClient(app.Client);
        await client.SendAsync(SyncClient.Set("1", "note", "synced", 0));
        await client.WriteAroundAsync("note", "\"written by a handler\"");

        var read = await client.PostAsync(SyncClient.Read("note"));
        var stale = await client.SendAsync(SyncClient.Set("2", "note", "offline", 1));

        Assert.Equal(2, read.Version("note"));
        Assert.Equal("rejected", stale.Status(0));
        Assert.Equal("\"written by a handler\"", await client.RawAsync("note"));
    }

    [Fact]
    public async Task MergeableOperation_OnAValueOfAnotherShape_IsRejectedAndTheRestOfTheBatchApplies()
    {
        await using var app = await StartAsync();
        var client = new SyncClient(app.Client);
        await client.SendAsync(SyncClient.Set("1", "note", "text", 0));

        var reply = await client.SendAsync(SyncClient.Add("2", "note", null, 1, 1), SyncClient.Add("3", "visits", null, long.MaxValue, 0), SyncClient.Add("4", "visits", null, 1, 0));

        Assert.Equal(["rejected", "applied", "rejected"], Enumerable.Range(0, 3).Select(reply.Status));
        Assert.Equal("type", reply.Result(0)["reason"]!.GetValue<string>());
        Assert.Equal("overflow", reply.Result(2)["reason"]!.GetValue<string>());
        Assert.Equal(long.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture), await client.RawAsync("visits"));

        // A counter object whose name repeats could be read as either count: refused, not guessed.
        var repeated = await client.PostAsync("""{"operations":[{"id":"5","key":"tags","op":"set","value":{"a":1,"a":2},"baseVersion":0},{"id":"6","key":"tags","op":"add","field":"a","by":1,"baseVersion":0}]}""");
        Assert.Equal(["applied", "rejected"], Enumerable.Range(0, 2).Select(repeated.Status));
        Assert.Equal("type", repeated.Result(1)["reason"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("""{"operations":[{"id":"ok","key":"cart","op":"add","field":"tea","by":1,"baseVersion":0},{"id":"bad","key":"cart","op":"add","baseVersion":0}]}""", "missing-by")]
    [InlineData("""{"operations":[{"id":"ok","key":"cart","op":"add","field":"tea","by":1,"baseVersion":0},{"id":"x","key":"user","op":"set","value":"admin","baseVersion":0}]}""", "key-not-allowed")]
    [InlineData("""{"operations":[{"id":"ok","key":"cart","op":"add","field":"tea","by":1,"baseVersion":0},{"id":"x","key":"statekit.sync","op":"remove","baseVersion":0}]}""", "key-not-allowed")]
    [InlineData("""{"operations":[{"id":"ok","key":"cart","op":"add","field":"tea","by":1,"baseVersion":0},{"id":"ok","key":"cart","op":"add","field":"tea","by":1,"baseVersion":0}]}""", "duplicate-id")]
    [InlineData("""{"operations":[{"id":"ok","key":"cart","op":"add","field":"tea","by":1,"by":100,"baseVersion":0}]}""", "duplicate-property")]
    [InlineData("""{"operations":[{"id":"ok","key":"cart","op":"add","field":"tea","by":1.5,"baseVersion":0}]}""", "bad-by")]
    [InlineData("""{"operations":[{"id":"ok","key":"cart","op":"add","field":"tea","by":1,"baseVersion":-1}]}""", "bad-baseVersion")]
    [InlineData("""{"operations":[{"id":"<script>","key":"cart","op":"add","field":"tea","by":1,"baseVersion":0}]}""", "bad-id")]
    [InlineData("""{"operations":[{"id":"ok","key":"cart","op":"increment","baseVersion":0}]}""", "bad-op")]
    [InlineData("""{"operations":{"id":"ok"}}""", "operations-not-array")]
    [InlineData("""{"operations":[],"admin":true}""", "unknown-property")]
    [InlineData("""{"operations":[{"id":"ok","key":"cart","op":"add","field":"tea","by":1,"baseVersion":0}""", "malformed-json")]
    [InlineData("""{"operations":[{"id":"ok","key":"cart","op":"add","field":"tea","by":1,"baseVersion":0}],"read":["user"]}""", "key-not-allowed")]
    [InlineData("", "malformed-json")]
    [InlineData("[]", "not-an-object")]
    public async Task MalformedBatch_Is400WithAProblem_AndNothingIsApplied(string body, string code)
    {
        await using var app = await StartAsync();
        var client = new SyncClient(app.Client);
        await client.SendAsync(SyncClient.Add("seed", "cart", "mug", 1, 0));
        var ledger = await client.RawAsync(StateKitSyncOptions.LedgerKey);

        var reply = await client.PostAsync(body);

        Assert.Equal(400, reply.HttpStatus);
        Assert.Equal("application/problem+json", reply.MediaType);
        Assert.Contains(code, reply.ErrorCodes);
        Assert.Equal("""{"mug":1}""", await client.RawAsync("cart"));
        Assert.Equal(ledger, await client.RawAsync(StateKitSyncOptions.LedgerKey));
    }

    [Fact]
    public async Task OversizedBatch_TooManyOperations_AndNotJson_AreRefusedBeforeParsing()
    {
        await using var app = await StartAsync(o => o.MaxOperations = 3);
        var client = new SyncClient(app.Client);

        var huge = await client.PostAsync("{\"operations\":[" + new string(' ', 300_000) + "]}");
        var many = await client.SendAsync([.. Enumerable.Range(0, 4).Select(i => SyncClient.Add("op" + i, "cart", "tea", 1, 0))]);
        var text = await client.PostAsync(SyncClient.Batch(SyncClient.Add("a", "cart", "tea", 1, 0)), "text/plain");

        Assert.Equal(413, huge.HttpStatus);
        Assert.Equal(400, many.HttpStatus);
        Assert.Contains("too-many-operations", many.ErrorCodes);
        Assert.Equal(415, text.HttpStatus);
        Assert.Null(await client.RawAsync("cart"));
        Assert.DoesNotContain(Cookie, app.Client.Cookies.Keys);
    }

    [Fact]
    public async Task RandomAndMutatedBatches_AreNeverA500_AndARefusedOneAppliesNothing()
    {
        await using var app = await StartAsync();
        var client = new SyncClient(app.Client);
        await client.SendAsync(SyncClient.Add("seed", "cart", "tea", 1, 0));
        var valid = SyncClient.Batch(
            SyncClient.Add("a", "cart", "tea", 1, 1),
            SyncClient.Set("b", "note", new JsonObject { ["x"] = new JsonArray(1, 2) }, 0),
            SyncClient.SetMember("c", "tags", "t", add: true, 0));
        var tokens = new[] { "{", "}", "[", "]", ",", ":", "\"", "null", "true", "-1", "1e400", "9223372036854775808", "\"op\"", "\"set\"", "\"key\"", "\"cart\"", "\"operations\"", "\\u0000", "\"by\"", "\"id\"" };

        // Random text, token soup, and a valid batch with a stretch replaced, cut or repeated.
        var soup = Gen.String[Gen.Char, 0, 300];
        var tokenSoup = Gen.Int[0, tokens.Length - 1].Array[0, 60].Select(ix => string.Concat(ix.Select(i => tokens[i])));
        var mutated = Gen.Select(Gen.Int[0, valid.Length - 1], Gen.Int[0, 20], Gen.Int[0, tokens.Length - 1], Gen.Int[0, 2])
            .Select(m =>
            {
                var (at, length, token, kind) = m;
                length = Math.Min(length, valid.Length - at);
                return kind switch
                {
                    0 => valid.Remove(at, length).Insert(at, tokens[token]),
                    1 => valid[..at],
                    _ => valid.Insert(at, valid.Substring(at, length)),
                };
            });
        var statuses = new System.Collections.Concurrent.ConcurrentDictionary<int, int>();
        await Gen.OneOf(soup, tokenSoup, mutated).SampleAsync(
            async body =>
            {
                var before = await client.RawAsync(StateKitSyncOptions.LedgerKey);
                var reply = await client.PostAsync(body);
                statuses.AddOrUpdate(reply.HttpStatus, 1, (_, n) => n + 1);
                Assert.True(reply.HttpStatus is 200 or 400 or 413, $"{reply.HttpStatus} for: {body}");
                if (reply.HttpStatus != 200)
                {
                    Assert.Equal("application/problem+json", reply.MediaType);
                    Assert.Equal(before, await client.RawAsync(StateKitSyncOptions.LedgerKey));
                }
            },
            iter: 600,
            threads: 1);

        Assert.True(statuses.TryGetValue(400, out var refused) && refused > 100, string.Join(", ", statuses));
    }

    [Fact]
    public async Task AnsweredOperationIds_AreRememberedUpToTheBound()
    {
        await using var app = await StartAsync(o =>
        {
            o.MaxOperations = 5;
            o.RememberedOperations = 5;
        });
        var client = new SyncClient(app.Client);
        for (var i = 0; i < 4; i++)
        {
            await client.SendAsync([.. Enumerable.Range(0, 3).Select(j => SyncClient.Add($"op{i}-{j}", "cart", "tea", 1, 0))]);
        }

        var ledgerBytes = (await client.RawAsync(StateKitSyncOptions.LedgerKey))!.Length;

        // 12 answered, 5 remembered: the newest five are answered as before, the one just older is applied again.
        var newest = await client.SendAsync(SyncClient.Add("op2-1", "cart", "tea", 1, 0), SyncClient.Add("op3-2", "cart", "tea", 1, 0));
        var forgotten = await client.SendAsync(SyncClient.Add("op2-0", "cart", "tea", 1, 0));

        Assert.True(newest.Result(0)["replayed"]!.GetValue<bool>());
        Assert.True(newest.Result(1)["replayed"]!.GetValue<bool>());
        Assert.Null(forgotten.Result(0)["replayed"]);
        Assert.Equal("""{"tea":13}""", await client.RawAsync("cart"));
        Assert.Equal(ledgerBytes, (await client.RawAsync(StateKitSyncOptions.LedgerKey))!.Length);
    }

    [Fact]
    public async Task ConcurrentBatches_OnOneCart_LoseNoCount()
    {
        await using var app = await StartAsync();
        var seed = new SyncClient(app.Client);
        await seed.SendAsync(SyncClient.Add("seed", "cart", "tea", 1, 0));
        var cookie = app.Client.Cookies[Cookie];

        const int Clients = 8, Batches = 5;
        await Task.WhenAll(Enumerable.Range(0, Clients).Select(c => Task.Run(async () =>
        {
            var client = new SyncClient(new CookieClient(app.Client.Http) { Cookies = { [Cookie] = cookie } });
            for (var b = 0; b < Batches; b++)
            {
                var reply = await client.SendAsync(SyncClient.Add($"c{c}-b{b}-tea", "cart", "tea", 2, 1), SyncClient.Add($"c{c}-b{b}-mug", "cart", "mug", 1, 1));
                Assert.Equal(200, reply.HttpStatus);
            }
        })));

        Assert.Equal($$"""{"tea":{{1 + (Clients * Batches * 2)}},"mug":{{Clients * Batches}}}""", await seed.RawAsync("cart"));
    }

    [Fact]
    public async Task BatchThatLosesEveryAttempt_Is409_AndAppliesNothing_ThenSucceedsOnceTheContentionEnds()
    {
        var interference = new Interference();
        await using var app = await StartAsync(o => o.MaxAttempts = 3, kit => kit.UseStore<Memory.InMemorySessionStoreOptions>(
            "interfered", null, (_, options) => interference.Wrap(new Memory.InMemorySessionStore(options))));
        var client = new SyncClient(app.Client);
        await client.SendAsync(SyncClient.Add("seed", "cart", "tea", 1, 0));

        interference.Remaining = 3;
        var lost = await client.SendAsync(SyncClient.Add("a", "cart", "tea", 5, 1));
        var cartAfterLoss = await client.RawAsync("cart");
        interference.Remaining = 2;
        var won = await client.SendAsync(SyncClient.Add("a", "cart", "tea", 5, 1));

        Assert.Equal(409, lost.HttpStatus);
        Assert.Equal("""{"tea":1}""", cartAfterLoss);
        Assert.Equal(200, won.HttpStatus);
        Assert.Equal("""{"tea":6}""", await client.RawAsync("cart"));
    }

    [Theory]
    [InlineData("jwt")]
    [InlineData("clientside")]
    [InlineData("distributed-cache")]
    public async Task MapStateKitSync_OnAStoreWithoutCompareAndSet_IsRefusedAtStartUp(string store)
    {
        var error = await Assert.ThrowsAsync<NotSupportedException>(() => TestApp.StartAsync(
            kit => TestStores.Configure(store, kit),
            app => app.MapStateKitSync("/statekit/sync", o => o.Keys["cart"] = SyncPolicy.LastWriterWins)));

        Assert.Contains("CompareAndSet", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MapStateKitSync_WithInvalidOptions_ListsEveryError()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => TestApp.StartAsync(
            kit => kit.UseInMemory(),
            app => app.MapStateKitSync("/statekit/sync", o =>
            {
                o.Keys[StateKitSyncOptions.LedgerKey] = SyncPolicy.ClientWins;
                o.MaxOperations = 0;
                o.MaxAttempts = 0;
            })));

        Assert.Equal(3, error.Failures.Count());
    }

    private static Task<TestApp> StartAsync(Action<StateKitSyncOptions>? configure = null, Action<StateKitBuilder>? store = null)
        => TestApp.StartAsync(
            kit => (store ?? (k => k.UseInMemory()))(kit),
            app =>
            {
                app.MapStateKitSync("/statekit/sync", o =>
                {
                    o.Keys["cart"] = SyncPolicy.LastWriterWins;
                    o.Keys["tags"] = SyncPolicy.LastWriterWins;
                    o.Keys["visits"] = SyncPolicy.LastWriterWins;
                    o.Keys["note"] = SyncPolicy.ServerWins;
                    o.Keys["draft"] = SyncPolicy.ClientWins;
                    o.Keys["title"] = SyncPolicy.LastWriterWins;
                    o.Keys["prefs"] = SyncPolicy.Merge(c =>
                    {
                        var merged = c.ServerValue!.AsObject();
                        foreach (var (name, value) in c.ClientValue!.AsObject().ToList())
                        {
                            merged.TryAdd(name, value?.DeepClone());
                        }

                        return merged;
                    });
                    configure?.Invoke(o);
                });
                SyncClient.MapHandlers(app);
            },
            services: s => s.AddSingleton<TimeProvider>(Clock));

    /// <summary>
    /// A real concurrent writer, on cue: before each of the next <see cref="Remaining"/> compare-and-set commits reaches the
    /// store, it commits another change to the same session, so that commit truly loses the race.
    /// </summary>
    private sealed class Interference
    {
        public int Remaining { get; set; }

        public ISessionStore Wrap(ISessionStore inner) => new Store(inner, this);

        private sealed class Store(ISessionStore inner, Interference owner) : ISessionStore
        {
            public SessionStoreCapabilities Capabilities => inner.Capabilities;

            public ValueTask<SessionSnapshot?> LoadAsync(string ticket, CancellationToken cancellationToken = default) => inner.LoadAsync(ticket, cancellationToken);

            public async ValueTask<SessionCommitResult> CommitAsync(SessionCommit commit, CancellationToken cancellationToken = default)
            {
                if (commit.Mode == SessionCommitMode.RequireBaseVersion && commit.Ticket is not null && owner.Remaining > 0)
                {
                    owner.Remaining--;
                    await inner.CommitAsync(new SessionCommit { Ticket = commit.Ticket, Upserts = new System.Collections.Generic.Dictionary<string, ReadOnlyMemory<byte>> { ["other"] = "1"u8.ToArray() } }, cancellationToken);
                }

                return await inner.CommitAsync(commit, cancellationToken);
            }

            public ValueTask<bool> RevokeAsync(string sessionId, CancellationToken cancellationToken = default) => inner.RevokeAsync(sessionId, cancellationToken);

            public ValueTask<int> RevokeUserAsync(string userId, CancellationToken cancellationToken = default) => inner.RevokeUserAsync(userId, cancellationToken);
        }
    }
}
