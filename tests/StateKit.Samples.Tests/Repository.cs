using System;
using System.Collections.Generic;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Threading.Tasks;
using StateKit.Testing;

namespace StateKit.Samples.Tests;

internal static class Repository
{
    public static string Root { get; } = FindRoot();

    public static string Configuration =>
#if DEBUG
        "Debug";
#else
        "Release";
#endif

    public static string ArtifactsDirectory
    {
        get
        {
            var path = Path.Combine(Root, "artifacts", "screenshots");
            Directory.CreateDirectory(path);
            return path;
        }
    }

    /// <summary>Starts a sample's built dll, with its project folder as the content root (static files included).</summary>
    public static Task<SampleProcess> StartSampleAsync(string sample, int port, IEnumerable<string> arguments)
    {
        var directory = Path.Combine(Root, "samples", sample);
        var dll = Path.Combine(directory, "bin", Configuration, "net10.0", sample + ".dll");
        return SampleProcess.StartAsync(dll, directory, port, arguments);
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "StateKit.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("StateKit.sln not found above " + AppContext.BaseDirectory);
    }
}
