// StateKit quickstart: one in-memory store, the life of a session, printed step by step.
// Run: dotnet run --project samples/Quickstart
using System;
using System.Linq;
using System.Text.Json.Serialization;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using StateKit;
using StateKit.DependencyInjection;

var services = new ServiceCollection();
services.AddStateKit(kit => kit.UseInMemory(o =>
{
    o.IdleTimeout = TimeSpan.FromMinutes(20);
    o.MaxSessions = 10_000;
}));
await using var provider = services.BuildServiceProvider();
var store = provider.GetRequiredService<ISessionStore>();
var json = QuickstartJson.Default;

Console.WriteLine($"Store: {store.Capabilities.Location}, concurrency {store.Capabilities.Concurrency}, max {store.Capabilities.MaxPayloadBytes} bytes per session");

// 1. A first request: no ticket yet. Writing needs no load; the commit mints a session and returns its ticket.
var first = store.Open(ticket: null);
first.Set("cart", new Cart(["book"]), json.Cart);
var created = await first.CommitAsync();
var ticket = created.Ticket!;
Console.WriteLine($"1. new session, version {created.Version}; the client now carries ticket {ticket}");

// 2. A request that reads: the session loads on first read, once.
var second = store.Open(ticket);
var cart = await second.GetAsync("cart", json.Cart);
Console.WriteLine($"2. loaded on first read: cart = [{string.Join(", ", cart!.Items)}]");

// 3. A request that changes nothing commits nothing, and keeps its ticket.
var unchanged = await second.CommitAsync();
Console.WriteLine($"3. nothing changed: outcome {unchanged.Outcome}, new ticket: {unchanged.Ticket ?? "(none)"}");

// 4. A write-only request sends a delta without reading the session first.
var third = store.Open(ticket);
third.Set("theme", "dark", json.String);
var blind = await third.CommitAsync();
Console.WriteLine($"4. blind write of one key: outcome {blind.Outcome}, version {blind.Version}, loaded first: {third.IsLoaded}");

// 5. Fifty concurrent requests each add one to a counter: compare-and-set with retries loses none.
await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => Task.Run(async () =>
    await store.UpdateAsync(ticket, s => s.Set("visits", s.Get("visits", json.Int32) + 1, json.Int32), maxAttempts: 500))));
var visits = await store.Open(ticket).GetAsync("visits", json.Int32);
Console.WriteLine($"5. 50 concurrent increments: visits = {visits}");

// 6. After sign-in, rotate the id: the data stays, the old ticket dies.
var signIn = store.Open(ticket);
signIn.BindUser("ana");
signIn.RotateId();
var rotated = await signIn.CommitAsync();
Console.WriteLine($"6. rotated: new ticket {rotated.Ticket}; old ticket loads {(await store.LoadAsync(ticket) is null ? "no session" : "a session")}");

// 7. Bad tickets are "no session", never an exception.
Console.WriteLine($"7. a forged ticket loads {(await store.LoadAsync("forged-ticket") is null ? "no session" : "a session")}");

// 8. Too much state fails loudly with the limit, and nothing is written.
var big = store.Open(rotated.Ticket);
big.SetBytes("upload", new byte[store.Capabilities.MaxPayloadBytes + 1]);
try
{
    await big.CommitAsync();
}
catch (SessionPayloadTooLargeException e)
{
    Console.WriteLine($"8. refused: {e.Size} bytes is over the limit of {e.Limit}; nothing was written");
}

// 9. Sign out everywhere.
var revoked = await store.RevokeUserAsync("ana");
Console.WriteLine($"9. signed out everywhere: {revoked} session(s) revoked");

internal sealed record Cart(string[] Items);

[JsonSerializable(typeof(Cart))]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(int))]
internal sealed partial class QuickstartJson : JsonSerializerContext;
