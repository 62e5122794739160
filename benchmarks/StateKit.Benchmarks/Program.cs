using System;
using System.Linq;
using System.Threading.Tasks;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace StateKit.Benchmarks;

/// <summary>
/// BenchmarkDotNet's switcher (<c>--filter</c>, <c>--job</c>, ...), plus console modes for what BenchmarkDotNet's per-benchmark
/// columns cannot show: <c>--roundtrips</c>, <c>--concurrency</c>, <c>--e2e</c>, <c>--memory</c>, <c>--outage</c>, <c>--ttfb</c>, <c>--cluster</c>. Each prints a markdown table.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Length > 0)
        {
            switch (args[0])
            {
                case "--roundtrips":
                    return await Modes.RoundTripReport.RunAsync();
                case "--concurrency":
                    return await Modes.ConcurrencyReport.RunAsync(args.AsSpan(1).ToArray());
                case "--e2e":
                    return await Modes.EndToEndReport.RunAsync(args.AsSpan(1).ToArray());
                case "--memory":
                    return await Modes.MemoryReport.RunAsync();
                case "--outage":
                    return await Modes.OutageReport.RunAsync(args.AsSpan(1).ToArray());
                case "--ttfb":
                    return await Modes.FirstByteReport.RunAsync(args.AsSpan(1).ToArray());
                case "--cluster":
                    return await Modes.ClusterReport.RunAsync(args.AsSpan(1).ToArray());
            }
        }

        // Case names such as "AspNetCoreSessionMemory/65536" must not be cut to "AspNe(...)".
        var config = DefaultConfig.Instance.WithSummaryStyle(SummaryStyle.Default.WithMaxParameterColumnWidth(48));
        var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);
        foreach (var summary in summaries)
        {
            if (summary.HasCriticalValidationErrors || summary.Reports.Length == 0 || summary.Reports.Any(r => !r.Success))
            {
                Console.Error.WriteLine($"Benchmark failures in {summary.Title}.");
                return 1;
            }
        }

        return 0;
    }
}
