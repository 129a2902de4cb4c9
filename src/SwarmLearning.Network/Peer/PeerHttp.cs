using SwarmLearning.Identity;

namespace SwarmLearning.Network.Peer;

/// <summary>HTTP clients that speak mutual TLS with this node's identity and trust only the swarm's CA.</summary>
internal static class PeerHttp
{
    /// <summary>A client whose servers must be SNs of the swarm: a certificate of another role is refused at the handshake.</summary>
    public static HttpClient CreateClient(SwarmIdentity identity, SwarmTrust trust, Microsoft.Extensions.Logging.ILogger? logger = null)
    {
        var handler = SwarmTls.CreateClientHandler(identity, trust, SwarmRole.Sn, logger);
        handler.PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2);
        handler.MaxConnectionsPerServer = 64;
        return new HttpClient(new RetryAfterHandler(handler), disposeHandler: true) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
    }

    public static Uri PeerUri(string host, int port, string pathAndQuery)
    {
        var h = host.Contains(':', StringComparison.Ordinal) && !host.StartsWith('[') ? $"[{host}]" : host;
        return new Uri($"https://{h}:{port}{pathAndQuery}");
    }
}
