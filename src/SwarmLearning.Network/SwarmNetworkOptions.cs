using SwarmLearning.Ledger.Transactions;

namespace SwarmLearning.Network;

/// <summary>How an SN node runs. Defaults follow HPE's ports; <see cref="Validate"/> says what is wrong in words a user can act on.</summary>
public sealed class SwarmNetworkOptions
{
    /// <summary>HPE's SN API port.</summary>
    public const int DefaultApiPort = 30304;

    /// <summary>HPE's SN peer port.</summary>
    public const int DefaultPeerPort = 30303;

    /// <summary>Where the ledger is stored.</summary>
    public string DataDirectory { get; set; } = "sn-data";

    /// <summary>True for the sentinel: it creates the genesis block on first start and orders blocks.</summary>
    public bool Sentinel { get; set; }

    /// <summary>Another SN's peer address (<c>host:port</c>) to join through; required unless <see cref="Sentinel"/>.</summary>
    public string? Join { get; set; }

    /// <summary>The address to listen on: loopback by default; <c>0.0.0.0</c> to accept other hosts.</summary>
    public string ListenAddress { get; set; } = "127.0.0.1";

    /// <summary>The host name other components reach this SN at (recorded on the ledger); must be in its certificate.</summary>
    public string Host { get; set; } = "localhost";

    /// <summary>The API port (SL, SWCI, SWOP).</summary>
    public int ApiPort { get; set; } = DefaultApiPort;

    /// <summary>The peer port (SN-to-SN replication and forwarding to the orderer).</summary>
    public int PeerPort { get; set; } = DefaultPeerPort;

    /// <summary>The swarm's name, used by the sentinel at genesis.</summary>
    public string SwarmName { get; set; } = "swarm";

    /// <summary>Fingerprints of the initial administrators, used by the sentinel at genesis.</summary>
    public IList<string> Administrators { get; } = [];

    /// <summary>
    /// Identities enrolled from the start, used by the sentinel at genesis (<c>--enrol</c>): they may connect and register
    /// without an administrator's <c>member.enrol</c>. The sentinel and the administrators are enrolled anyway.
    /// </summary>
    public IList<EnrolPayload> Enrolled { get; } = [];

    /// <summary>Timings and default names, used by the sentinel at genesis (later SNs read them from the ledger).</summary>
    public LedgerDefaults Defaults { get; set; } = new();

    /// <summary>
    /// The PEM certificate file this SN's identity was loaded from (<c>swarm sn</c> sets it). It is polled on every
    /// heartbeat, with <see cref="KeyFile"/>: a new certificate of the same role and name installed there, with its key,
    /// is rotated to without a restart (<c>member.rotate</c>). Null, the default, watches nothing.
    /// </summary>
    public string? CertificateFile { get; set; }

    /// <summary>The PEM private key file that goes with <see cref="CertificateFile"/>.</summary>
    public string? KeyFile { get; set; }

    /// <summary>How often this SN heartbeats; 0 uses the swarm's heartbeat interval from genesis.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.Zero;

    /// <summary>How long a forwarded transaction may take to reach a block and this SN before the API gives up and says so.</summary>
    public TimeSpan SubmitTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The longest long-poll wait a client may ask for.</summary>
    public TimeSpan MaxPollWait { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The requests one client (one client certificate) may make on the API port per <see cref="RequestWindow"/>; more
    /// are answered 429 with a Retry-After. An SL node makes 1–3 a second (heartbeats, round transactions, the block
    /// stream), so the default, 2000 per 10 s, leaves a margin of more than 50.
    /// </summary>
    public int RequestsPerPeer { get; set; } = 2000;

    /// <summary>
    /// The same limit on the peer port, per SN. A follower forwards every transaction its clients submit to the
    /// sentinel there, so it carries a share of the whole swarm's load (the ledger load test commits over 4,000
    /// transactions a second through three SNs): the default, 100,000 per 10 s, only stops a runaway SN.
    /// </summary>
    public int PeerPortRequestsPerPeer { get; set; } = 100_000;

    /// <summary>The window <see cref="RequestsPerPeer"/> and <see cref="PeerPortRequestsPerPeer"/> count in.</summary>
    public TimeSpan RequestWindow { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Returns every problem with these options; empty when they are fine.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(DataDirectory))
        {
            errors.Add("the data directory is empty: give --dir DIR");
        }

        if (!Sentinel && string.IsNullOrWhiteSpace(Join))
        {
            errors.Add("an SN that is not the sentinel must join one: give --join HOST:PEERPORT of the sentinel or any SN, or --sentinel to start a new swarm");
        }

        if (Join is not null && !TryParseHostPort(Join, out _, out _))
        {
            errors.Add($"--join '{Join}' is not HOST:PORT");
        }

        if (!System.Net.IPAddress.TryParse(ListenAddress, out _))
        {
            errors.Add($"the listen address '{ListenAddress}' is not an IP address (for example 127.0.0.1 or 0.0.0.0)");
        }

        foreach (var (port, name) in new[] { (ApiPort, "--api-port"), (PeerPort, "--peer-port") })
        {
            if (port is < 1 or > 65535)
            {
                errors.Add($"{name} {port} is not a TCP port (1–65535)");
            }
        }

        if (RequestsPerPeer < 1 || PeerPortRequestsPerPeer < 1)
        {
            errors.Add($"the request limits per peer are {RequestsPerPeer} (API port) and {PeerPortRequestsPerPeer} (peer port); each must be 1 or more");
        }

        if (RequestWindow <= TimeSpan.Zero || RequestWindow > TimeSpan.FromHours(1))
        {
            errors.Add($"the request window is {RequestWindow.TotalSeconds} s; it must be more than 0 and at most an hour");
        }

        if ((CertificateFile is null) != (KeyFile is null))
        {
            errors.Add("to rotate certificates without a restart give both the certificate file and the key file, or neither");
        }

        if (ApiPort == PeerPort)
        {
            errors.Add($"the API port and the peer port are both {ApiPort}; they must differ");
        }

        return errors;
    }

    /// <summary>Splits <c>host:port</c> (IPv6 in brackets).</summary>
    public static bool TryParseHostPort(string value, out string host, out int port)
    {
        host = "";
        port = 0;
        var colon = value?.LastIndexOf(':') ?? -1;
        if (colon <= 0 || !int.TryParse(value.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)
        {
            return false;
        }

        host = value![..colon].Trim('[', ']');
        return host.Length > 0;
    }
}
