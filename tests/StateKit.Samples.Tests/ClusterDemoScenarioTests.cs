using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Xunit.Abstractions;

namespace StateKit.Samples.Tests;

/// <summary>Runs the ClusterDemo failure scenario as a real process (YARP gateway + three nodes on loopback), small.</summary>
public sealed class ClusterDemoScenarioTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Scenario_PrintsOneRowPerStrategy_StickyLosesNodeUsersAndTheBackupSavesThem()
    {
        var directory = Path.Combine(Repository.Root, "samples", "ClusterDemo");
        var dll = Path.Combine(directory, "bin", Repository.Configuration, "net10.0", "ClusterDemo.dll");
        var info = new ProcessStartInfo("dotnet") { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { dll, "scenario", "--users", "12", "--adds", "3" })
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(90));
        var text = await stdout;
        output.WriteLine(text + await stderr);

        Assert.Equal(0, process.ExitCode);
        int[] Row(string strategy) => text.Split('\n').Single(l => l.StartsWith($"| {strategy} |", StringComparison.Ordinal))
            .Split('|', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Skip(1).Select(int.Parse).ToArray();
        var sticky = Row("sticky");
        var backed = Row("sticky+backup");
        var shared = Row("shared-cache");

        // Columns: users, served, lost, rehydrated, errors.
        Assert.True(sticky[2] > 0, "without a backup, the stopped and killed nodes' users lose their carts");
        Assert.True(backed[2] < sticky[2], "the backup must save sessions the bare sticky store loses");
        Assert.True(backed[3] > 0, "the surviving nodes take sessions over from the backup");
        Assert.Equal(0, shared[2]);
    }
}
