using System.Net;
using System.Net.Sockets;
using Garnet;

namespace ShoppingCart;

/// <summary>An in-process, Redis-compatible Garnet server for <c>--store redis</c> when no Redis is configured.</summary>
public static class EmbeddedGarnet
{
    private static GarnetServer? server;

    /// <summary>Starts a server on a free loopback port and returns the port.</summary>
    public static int Start()
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        // Lives as long as the process; the store's scripts need Lua.
        server = new GarnetServer(["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--lua"]);
        server.Start();
        return port;
    }
}
