// ClusterDemo: a YARP gateway and three ShoppingCart nodes on loopback, in one process.
//   dotnet run --project samples/ClusterDemo                                  the shop on http://127.0.0.1:5100 (sticky+backup)
//   dotnet run --project samples/ClusterDemo -- --strategy sticky             another strategy: sticky, sticky+backup, sticky+redis, redis, jwt, clientside, shared-cache
//   dotnet run --project samples/ClusterDemo -- scenario [--users 60]         the failure scenario, every strategy, as a table
using System;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ClusterDemo;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

var config = new ConfigurationBuilder().AddCommandLine(args.Where(a => a != "scenario").ToArray()).Build();
DemoRedis.Configured = config.GetConnectionString("redis");
if (args.Contains("scenario"))
{
    var users = int.Parse(config["users"] ?? "60", CultureInfo.InvariantCulture);
    var adds = int.Parse(config["adds"] ?? "5", CultureInfo.InvariantCulture);
    Console.WriteLine($"{users} shoppers x 3 phases x {adds} adds through a YARP gateway to 3 nodes; node-1 stops gracefully after phase 1, node-2 is killed halfway through phase 3.");
    Console.WriteLine();
    Console.WriteLine("| strategy | users | requests served | sessions lost | sessions rehydrated | errors |");
    Console.WriteLine("|---|---:|---:|---:|---:|---:|");
    foreach (var strategy in Strategy.All)
    {
        var row = await Scenario.RunAsync(strategy, users, adds);
        Console.WriteLine($"| {row.Strategy} | {row.Users} | {row.Served} | {row.Lost} | {row.Rehydrated} | {row.Errors} |");
    }

    return;
}

var chosen = Strategy.Find(config["strategy"] ?? "sticky+backup");
await using var cluster = await Cluster.StartAsync(chosen, int.Parse(config["port"] ?? "5100", CultureInfo.InvariantCulture), LogLevel.Information);
Console.WriteLine($"The shop ({chosen.Name}: {chosen.Note}) is on {cluster.GatewayAddress} through YARP; nodes on the next three ports. Ctrl+C stops.");
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
try
{
    await Task.Delay(Timeout.Infinite, stop.Token);
}
catch (OperationCanceledException)
{
}
