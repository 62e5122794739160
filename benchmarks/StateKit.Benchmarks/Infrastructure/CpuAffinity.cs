using System;
using System.Diagnostics;
using System.Globalization;

namespace StateKit.Benchmarks.Infrastructure;

/// <summary>
/// Which CPUs a process may run on, set with <c>taskset -a -cp</c> (util-linux). <see cref="Process.ProcessorAffinity"/> is not
/// used: on Linux it calls <c>sched_setaffinity</c> on the main thread only, and the thread pool's threads, already running,
/// would stay free. <c>-a</c> moves every thread of the process, and threads started later inherit their creator's mask.
/// </summary>
public static class CpuAffinity
{
    /// <summary>Gets how many CPUs this process could use when it started (before any pinning).</summary>
    public static int Cpus { get; } = Environment.ProcessorCount;

    /// <summary>Gets every CPU, as a taskset list ("0-1" on a 2-core machine).</summary>
    public static string All => Cpus > 1 ? $"0-{Cpus - 1}" : "0";

    /// <summary>Gets every CPU but the first, as a taskset list: where the load runs when a server has CPU 0.</summary>
    public static string AllButFirst => Cpus > 2 ? $"1-{Cpus - 1}" : "1";

    /// <summary>Restricts every thread of <paramref name="processId"/> to <paramref name="cpuList"/>, or says why it could not.</summary>
    /// <returns><see langword="null"/> when done, else the error.</returns>
    public static string? TrySet(int processId, string cpuList)
    {
        try
        {
            var info = new ProcessStartInfo("taskset")
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            foreach (var arg in (string[])["-a", "-cp", cpuList, processId.ToString(CultureInfo.InvariantCulture)])
            {
                info.ArgumentList.Add(arg);
            }

            using var taskset = Process.Start(info)!;
            taskset.StandardOutput.ReadToEnd();
            var error = taskset.StandardError.ReadToEnd();
            taskset.WaitForExit();
            return taskset.ExitCode == 0 ? null : $"taskset -a -cp {cpuList} {processId} exited with {taskset.ExitCode}: {error.Trim()}";
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return $"taskset could not start ({e.Message}); install util-linux.";
        }
    }
}
