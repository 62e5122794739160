using System;
using System.IO;
using System.Net;
using System.Net.Sockets;

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
