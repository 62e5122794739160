// The ShoppingCart sample: a cart that must not empty itself, on the strategy you pick.
//   dotnet run --project samples/ShoppingCart                    (in-memory, nothing to install)
//   dotnet run --project samples/ShoppingCart -- --store memory
//   ... -- --store redis | clientside | jwt | sticky | distributed (SQLite file) | tiered (cart on the server, theme in the browser)
// GET /health reports the session store's health (with --store redis, its circuit breaker).
// /account signs in with a name (cookie authentication, tickets in a StateKit store) and out, here or everywhere, and
// lists where the user is signed in (memory, redis, clientside, jwt, tiered), signing out any other device; at most 5
// sign-ins per user (a sixth signs out the least recently active; --ShoppingCart:SessionLimitPolicy RefuseNewSession refuses it).
// With memory, redis or sticky the cart also works offline: set DevTools' network to Offline, add items, go back
// online; the page syncs through /statekit/sync (docs/offline.md).
using System;
using System.Linq;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ShoppingCart;
using StateKit;
using StateKit.AspNetCore;
using StateKit.DependencyInjection;

var builder = WebApplication.CreateBuilder(args);

// statekit-sync.js comes from StateKit.AspNetCore as a static web asset; Development serves those anyway, this serves them
// in any environment when running from the build output.
builder.WebHost.UseStaticWebAssets();
ShopEndpoints.AddShop(builder.Services);
StoreHealth.Add(builder.Services);
var strategy = Strategies.Configure(builder);
Account.Add(builder, strategy);

var app = builder.Build();
app.Logger.LogInformation("ShoppingCart keeps its state with the '{Strategy}' strategy: {Survives}", strategy.Name, strategy.Survives);

// Static files first: they never touch state, so StateKit never sees them.
app.UseDefaultFiles();
app.UseStaticFiles();

// Named here, after the static files, so that they cost no ticket load (WebApplication would mount it ahead of them).
app.UseAuthentication();
app.UseStateKit();

var sync = ShopSync.Map(app);
ShopEndpoints.Map(app, strategy.Name, strategy.Survives, sync);
StoreHealth.Map(app);
Account.Map(app);

app.Run();
