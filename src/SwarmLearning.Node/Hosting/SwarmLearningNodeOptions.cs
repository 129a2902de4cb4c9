using System.Net;
using System.Text;
using SwarmLearning.Network;

namespace SwarmLearning.Node.Hosting;

/// <summary>How an SL node runs. Defaults follow HPE's ports; <see cref="Validate"/> says what is wrong in words a user can act on.</summary>
public sealed class SwarmLearningNodeOptions
{
    /// <summary>HPE's SL file server port.</summary>
    public const int DefaultFilePort = 30305;

    /// <summary>The local channel's socket file name inside the data directory, unless <see cref="SocketPath"/> is given.</summary>
    public const string DefaultSocketName = "ml.sock";

    /// <summary>The longest Unix socket path Linux accepts (sun_path holds 108 bytes with the terminating NUL).</summary>
    public const int MaxSocketPathBytes = 107;

    /// <summary>Where the node keeps its ledger replica (<c>ledger/</c>), its models (<c>models/</c>) and, by default, its socket.</summary>
    public string DataDirectory { get; set; } = "sl-data";

    /// <summary>The SN API to follow and submit through: <c>host:port</c> (30304 is HPE's API port).</summary>
    public string? SwarmNetwork { get; set; }

    /// <summary>The file server port (HTTPS, mutual TLS) peers fetch this node's models from.</summary>
    public int FilePort { get; set; } = DefaultFilePort;

    /// <summary>The address the file server listens on: loopback by default; <c>0.0.0.0</c> to serve other hosts.</summary>
    public string ListenAddress { get; set; } = "127.0.0.1";

    /// <summary>The host name peers reach this node's file server at (recorded on the ledger); must be in its certificate.</summary>
    public string Host { get; set; } = "localhost";

    /// <summary>The local channel's Unix socket; null for <c>DATA/ml.sock</c>.</summary>
    public string? SocketPath { get; set; }

    /// <summary>False keeps this node out of every round's leader order (HPE's <c>SL_MAKE_ME_ADMIN</c>); it still trains and merges.</summary>
    public bool MakeMeAdmin { get; set; } = true;

    /// <summary>
    /// The largest model, in bytes, this node takes: from its ML program on the local channel (a larger body is refused
    /// with 413) and from peers (a submission the ledger records as larger is not fetched). The default, 4 GiB, holds a
    /// model of a billion f32 parameters; the node reads a model into memory, so this also bounds what one costs.
    /// </summary>
    public long MaxModelBytes { get; set; } = DefaultMaxModelBytes;

    /// <summary>The default of <see cref="MaxModelBytes"/>: 4 GiB.</summary>
    public const long DefaultMaxModelBytes = 4L << 30;

    /// <summary>
    /// The requests one peer (one client certificate) may make to the file server per <see cref="RequestWindow"/>;
    /// more are answered 429 with a Retry-After. A round costs a peer one or two requests here (the leader fetches each
    /// submission once, each participant fetches the merged model and retries for up to a minute), so the default, 300
    /// per 10 s, is never reached by a swarm syncing every few seconds. The local channel is not limited.
    /// </summary>
    public int RequestsPerPeer { get; set; } = 300;

    /// <summary>The window <see cref="RequestsPerPeer"/> counts in.</summary>
    public TimeSpan RequestWindow { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The most models the file server sends at once; a request beyond that waits (its model held for it) until a send
    /// ends, for as long as the peer keeps asking and no longer than a fetch of that size may take. When a round's participants all fetch the merged model from its leader
    /// together, a few at a time got it to the last of them sooner than all at once (16 nodes on two cores: about 15 %;
    /// docs/performance.md). 0 sets no limit.
    /// </summary>
    public int MaxConcurrentServes { get; set; } = DefaultMaxConcurrentServes;

    /// <summary>The default of <see cref="MaxConcurrentServes"/>.</summary>
    public const int DefaultMaxConcurrentServes = 4;

    /// <summary>
    /// The PEM certificate file this node's identity was loaded from (<c>swarm sl</c> sets it). It is polled on every
    /// heartbeat, with <see cref="KeyFile"/>: a new certificate of the same role and name installed there, with its key,
    /// is rotated to without a restart (<c>member.rotate</c>). Null, the default, watches nothing.
    /// </summary>
    public string? CertificateFile { get; set; }

    /// <summary>The PEM private key file that goes with <see cref="CertificateFile"/>.</summary>
    public string? KeyFile { get; set; }

    /// <summary>The socket path in effect, made absolute.</summary>
    public string EffectiveSocketPath => Path.GetFullPath(SocketPath ?? Path.Combine(DataDirectory, DefaultSocketName));

    /// <summary>Where the ledger replica lives.</summary>
    public string LedgerDirectory => Path.Combine(DataDirectory, "ledger");

    /// <summary>Where models live: the store (by model hash) and <c>final.safetensors</c>.</summary>
    public string ModelDirectory => Path.Combine(DataDirectory, "models");

    /// <summary>The SN API address as a URI (valid options only).</summary>
    public Uri SwarmNetworkUri
    {
        get
        {
            if (SwarmNetwork is null || !SwarmNetworkOptions.TryParseHostPort(SwarmNetwork, out var host, out var port))
            {
                throw new SwarmException($"the SN address '{SwarmNetwork}' is not HOST:PORT");
            }

            var h = host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host;
            return new Uri($"https://{h}:{port}");
        }
    }

    /// <summary>Returns every problem with these options; empty when they are fine.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(DataDirectory))
        {
            errors.Add("the data directory is empty: give --dir DIR");
        }

        if (string.IsNullOrWhiteSpace(SwarmNetwork))
        {
            errors.Add($"an SL node needs an SN to follow: give --sn HOST:PORT of an SN's API (port {SwarmNetworkOptions.DefaultApiPort} by default)");
        }
        else if (!SwarmNetworkOptions.TryParseHostPort(SwarmNetwork, out var snHost, out _))
        {
            errors.Add($"--sn '{SwarmNetwork}' is not HOST:PORT (an IPv6 address goes in brackets: [::1]:30304)");
        }
        else if (Uri.CheckHostName(snHost) == UriHostNameType.Unknown)
        {
            errors.Add($"--sn '{SwarmNetwork}': '{snHost}' is not a host name or an IP address");
        }

        if (!IPAddress.TryParse(ListenAddress, out _))
        {
            errors.Add($"the listen address '{ListenAddress}' is not an IP address (for example 127.0.0.1 or 0.0.0.0)");
        }

        if (FilePort is < 1 or > 65535)
        {
            errors.Add($"--file-port {FilePort} is not a TCP port (1–65535)");
        }

        if (MaxModelBytes < 1024)
        {
            errors.Add($"the largest model is {MaxModelBytes} bytes; give at least 1024 (the default is {DefaultMaxModelBytes})");
        }

        if (RequestsPerPeer < 1)
        {
            errors.Add($"the request limit per peer is {RequestsPerPeer}; it must be 1 or more");
        }

        if (MaxConcurrentServes is < 0 or > 1024)
        {
            errors.Add($"--max-concurrent-serves is {MaxConcurrentServes}; give 1 to 1024 models sent at once, or 0 for no limit");
        }

        if (RequestWindow <= TimeSpan.Zero || RequestWindow > TimeSpan.FromHours(1))
        {
            errors.Add($"the request window is {RequestWindow.TotalSeconds} s; it must be more than 0 and at most an hour");
        }

        if ((CertificateFile is null) != (KeyFile is null))
        {
            errors.Add("to rotate certificates without a restart give both the certificate file and the key file, or neither");
        }

        if (string.IsNullOrWhiteSpace(Host))
        {
            errors.Add("--host is empty: give the name peers reach this node at (one of its certificate's hosts)");
        }

        if (!string.IsNullOrWhiteSpace(DataDirectory) && SocketPath is not { Length: 0 })
        {
            var socket = EffectiveSocketPath;
            if (Encoding.UTF8.GetByteCount(socket) > MaxSocketPathBytes)
            {
                errors.Add($"the socket path {socket} is {Encoding.UTF8.GetByteCount(socket)} bytes long; Unix sockets allow {MaxSocketPathBytes}: give a shorter --socket PATH");
            }
        }
        else if (SocketPath is { Length: 0 })
        {
            errors.Add("--socket is empty: give a path for the local channel's socket, or leave it out for DIR/ml.sock");
        }

        return errors;
    }
}
