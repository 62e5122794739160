using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Net.Http;
using System.Text;
using System.Threading.Tasks;

namespace StateKit.Testing;

/// <summary>
/// A sample app running as a real process on a loopback port, so a test can kill and restart it and a benchmark can put it
/// under HTTP load. It counts as started once <c>GET /api/products</c> answers.
/// </summary>
public sealed class SampleProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private SampleProcess(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Starts the sample's built dll with <c>dotnet</c>, in Development, and waits until it serves.</summary>
    /// <param name="dll">The sample's built dll.</param>
    /// <param name="workingDirectory">Its content root: the sample's project folder when its static files are needed.</param>
    /// <param name="port">The loopback port to listen on.</param>
    /// <param name="arguments">Arguments after <c>--urls</c>, e.g. <c>--store redis</c>.</param>
    public static async Task<SampleProcess> StartAsync(string dll, string workingDirectory, int port, IEnumerable<string> arguments)
    {
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException($"Build the sample first: {dll} is missing.", dll);
        }

        var url = $"http://127.0.0.1:{port}";
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(dll);
        info.ArgumentList.Add("--urls");
        info.ArgumentList.Add(url);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        // Development: cookies follow the request's scheme, as on a developer's machine over plain http, and the sample's
        // development keys are configured.
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Development";
        var process = Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start");
        var sampleProcess = new SampleProcess(process, new Uri(url));
        process.OutputDataReceived += (_, e) => sampleProcess.Append(e.Data);
        process.ErrorDataReceived += (_, e) => sampleProcess.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await sampleProcess.WaitUntilServingAsync();
        return sampleProcess;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    private async Task WaitUntilServingAsync()
    {
        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The sample exited with code {_process.ExitCode}:\n{Output}");
            }

            try
            {
                using var response = await http.GetAsync("/api/products");
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"The sample did not serve within 60 s:\n{Output}");
    }
}
