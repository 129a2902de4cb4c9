using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using SwarmLearning.Identity;

namespace SwarmLearning.Network.Tests;

/// <summary>
/// One HTTP/1.0 request sent exactly as written, over mutual TLS: an <see cref="HttpClient"/> normalizes a path
/// (<c>../</c> segments vanish before they leave), so hostile request targets go out through this instead.
/// </summary>
internal static class RawHttps
{
    public static async Task<(int Status, string Body)> SendAsync(int port, SwarmIdentity identity, SwarmTrust trust, string method, string target)
    {
        using var handler = SwarmTls.CreateClientHandler(identity, trust);
        var options = handler.SslOptions;
        options.TargetHost = "localhost";
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("localhost", port);
        await using var tls = new SslStream(tcp.GetStream());
        await tls.AuthenticateAsClientAsync(options);

        // HTTP/1.0: the server closes the connection after the answer, and never chunks it.
        await tls.WriteAsync(Encoding.ASCII.GetBytes($"{method} {target} HTTP/1.0\r\nHost: localhost\r\n\r\n"));
        using var reader = new StreamReader(tls, Encoding.UTF8);
        var response = await reader.ReadToEndAsync().WaitAsync(TestNetwork.Patience);
        var statusLine = response[..response.IndexOf("\r\n", StringComparison.Ordinal)];
        var status = int.Parse(statusLine.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        var body = response[(response.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
        return (status, body);
    }

    /// <summary>The <c>error</c> and <c>message</c> of an error body; fails the test when the body is not one.</summary>
    public static (string Error, string Message) ErrorOf(string body)
    {
        using var json = JsonDocument.Parse(body);
        return (json.RootElement.GetProperty("error").GetString()!, json.RootElement.GetProperty("message").GetString()!);
    }
}
