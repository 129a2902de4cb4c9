using System.CommandLine;
using SwarmLearning.Cli.Terminal;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Transactions;
using SwarmLearning.Network;
using SwarmLearning.Network.Hosting;

namespace SwarmLearning.Cli.Commands;

/// <summary>
/// <c>swarm sn</c>: runs a Swarm Network node. The sentinel (<c>--sentinel</c>) creates the swarm's genesis block on
/// first start and orders blocks; other SNs join through any SN's peer address and replicate.
/// </summary>
internal static class SnCommand
{
    public static Command Create(CliIo io)
    {
        var sentinel = new Option<bool>("--sentinel") { Description = "Be the sentinel: create the genesis block on first start and order blocks." };
        var join = new Option<string?>("--join") { Description = "Peer address (HOST:PORT, port 30303 by default) of the sentinel or any SN to join through." };
        var dir = new Option<string>("--dir") { Description = "The ledger's directory.", DefaultValueFactory = _ => "sn-data" };
        var certs = new Option<string>("--certs") { Description = "Directory with the identity files and the CA certificate (ca.crt).", DefaultValueFactory = _ => "certs" };
        var name = new Option<string>("--name") { Description = "The SN's identity name: uses CERTS/NAME.crt and CERTS/NAME.key. A new pair installed over them while the SN runs is rotated to within a heartbeat or two (docs/identity.md).", Required = true };
        var listen = new Option<string>("--listen") { Description = "The IP address to listen on; 0.0.0.0 for all interfaces.", DefaultValueFactory = _ => "127.0.0.1" };
        var host = new Option<string>("--host") { Description = "The host name other components reach this SN at; must be in its certificate.", DefaultValueFactory = _ => "localhost" };
        var apiPort = new Option<int>("--api-port") { Description = "The API port (SL, SWCI, SWOP).", DefaultValueFactory = _ => SwarmNetworkOptions.DefaultApiPort };
        var peerPort = new Option<int>("--peer-port") { Description = "The peer port (SN-to-SN replication).", DefaultValueFactory = _ => SwarmNetworkOptions.DefaultPeerPort };
        var swarmName = new Option<string>("--swarm-name") { Description = "Sentinel, first start: the swarm's name.", DefaultValueFactory = _ => "swarm" };
        var admins = new Option<string[]>("--admin")
        {
            Description = "Sentinel, first start: an administrator, by certificate file or fingerprint (repeatable; see 'swarm certs show'). The sentinel is one anyway.",
            AllowMultipleArgumentsPerToken = false,
        };
        var enrol = new Option<string[]>("--enrol")
        {
            Description = "Sentinel, first start: enrol these identities from the start, a certificate file or a directory of them (every *.crt but ca.crt; repeatable). Others need 'swarm ctl enrol'.",
            AllowMultipleArgumentsPerToken = false,
        };
        var quorumWait = new Option<int>("--full-quorum-wait") { Description = "Sentinel, first start: seconds a round waits for every active node once minPeers are ready.", DefaultValueFactory = _ => 30 };
        var memberTimeout = new Option<int>("--member-timeout") { Description = "Sentinel, first start: seconds without a heartbeat before a member counts as inactive.", DefaultValueFactory = _ => 5 };
        var mergeTimeout = new Option<int>("--merge-timeout") { Description = "Sentinel, first start: seconds a leader has to publish the merged model before the next one takes over.", DefaultValueFactory = _ => 120 };
        var requests = new Option<int>("--requests-per-peer") { Description = "Requests one client certificate may make to the API port per 10 s; more are answered 429 with a Retry-After.", DefaultValueFactory = _ => new SwarmNetworkOptions().RequestsPerPeer };
        var peerRequests = new Option<int>("--peer-requests-per-peer") { Description = "The same on the peer port, where followers forward the swarm's transactions to the sentinel.", DefaultValueFactory = _ => new SwarmNetworkOptions().PeerPortRequestsPerPeer };
        foreach (var limit in new[] { requests, peerRequests })
        {
            limit.Validators.Add(r =>
            {
                if (r.GetValueOrDefault<int>() < 1)
                {
                    r.AddError($"{limit.Name} must be 1 or more");
                }
            });
        }

        var verbose = new Option<bool>("--verbose") { Description = "Log every request and block (debug level)." };
        var command = new Command("sn", "Run a Swarm Network node: hold and verify the swarm's ledger, serve its API (30304) and replicate blocks with other SNs (30303).")
        {
            sentinel, join, dir, certs, name, listen, host, apiPort, peerPort, swarmName, admins, enrol, quorumWait, memberTimeout, mergeTimeout, requests, peerRequests, verbose,
        };
        command.SetAction((parse, cancellationToken) => io.RunAsync(async () =>
        {
            var options = new SwarmNetworkOptions
            {
                Sentinel = parse.GetValue(sentinel),
                Join = parse.GetValue(join),
                DataDirectory = parse.GetValue(dir)!,
                ListenAddress = parse.GetValue(listen)!,
                Host = parse.GetValue(host)!,
                ApiPort = parse.GetValue(apiPort),
                PeerPort = parse.GetValue(peerPort),
                SwarmName = parse.GetValue(swarmName)!,
                RequestsPerPeer = parse.GetValue(requests),
                PeerPortRequestsPerPeer = parse.GetValue(peerRequests),
                Defaults = new LedgerDefaults
                {
                    FullQuorumWaitSeconds = parse.GetValue(quorumWait),
                    MemberTimeoutSeconds = parse.GetValue(memberTimeout),
                    MergeTimeoutSeconds = parse.GetValue(mergeTimeout),
                },
            };
            if (options.Join is { } j && !j.Contains(':', StringComparison.Ordinal))
            {
                options.Join = $"{j}:{SwarmNetworkOptions.DefaultPeerPort}";
            }

            return await RunAsync(io, options, parse.GetValue(certs)!, parse.GetValue(name)!, parse.GetValue(admins) ?? [], parse.GetValue(enrol) ?? [], parse.GetValue(verbose), cancellationToken)
                .ConfigureAwait(false);
        }));
        return command;
    }

    private static async Task<int> RunAsync(
        CliIo io, SwarmNetworkOptions options, string certs, string name, string[] admins, string[] enrol, bool verbose, CancellationToken cancellationToken)
    {
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new SwarmException(string.Join("; ", errors));
        }

        // The node watches these files: a new certificate and key installed over them are rotated to without a restart.
        options.CertificateFile = Path.Combine(certs, $"{name}.crt");
        options.KeyFile = Path.Combine(certs, $"{name}.key");
        using var identity = SwarmIdentity.Load(options.CertificateFile, options.KeyFile);
        var trust = SwarmTrust.Load(Path.Combine(certs, "ca.crt"));
        var error = io.Error;
        foreach (var warning in AddGenesisIdentities(options, trust, admins, enrol))
        {
            await error.WriteLineAsync(warning).ConfigureAwait(false);
        }

        if (CertsCommand.ExpiryWarning(identity, Path.Combine(certs, $"{name}.crt"), DateTimeOffset.UtcNow) is { } expiring)
        {
            await error.WriteLineAsync(expiring).ConfigureAwait(false);
        }

        var running = await SwarmNetworkHost.StartAsync(options, identity, trust, logging => NodeLogging.Configure(logging, verbose), cancellationToken).ConfigureAwait(false);
        await using var stop = running.ConfigureAwait(false);
        await error.WriteLineAsync($"SN '{identity.Name}' ({identity.Fingerprint.Short}) serving: API https://{options.Host}:{options.ApiPort}, peers https://{options.Host}:{options.PeerPort}; Ctrl+C stops it.").ConfigureAwait(false);
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            await error.WriteLineAsync($"SN '{identity.Name}' stopping at height {running.Node.Chain.Height}").ConfigureAwait(false);
        }

        return SwarmCli.Success;
    }

    /// <summary>
    /// Fills the sentinel's genesis administrators (fingerprints, or certificate files, which are enrolled too) and
    /// enrolments (<c>--enrol</c> files and directories); returns warnings about certificates skipped in directories.
    /// </summary>
    private static List<string> AddGenesisIdentities(SwarmNetworkOptions options, SwarmTrust trust, string[] admins, string[] enrol)
    {
        var warnings = new List<string>();
        var now = DateTimeOffset.UtcNow;
        var enrolled = new Dictionary<string, EnrolPayload>(StringComparer.Ordinal);
        foreach (var admin in admins)
        {
            if (Fingerprint.TryParse(admin, out var f))
            {
                options.Administrators.Add(f.ToString());
            }
            else if (File.Exists(admin))
            {
                var enrolment = EnrolmentFiles.One(admin, trust, now, "administrator named at genesis");
                options.Administrators.Add(enrolment.Fingerprint);
                enrolled.TryAdd(enrolment.Fingerprint, enrolment);
            }
            else
            {
                throw new SwarmException($"--admin '{admin}' is neither a certificate fingerprint (64 hex digits) nor a certificate file; give the administrator's NAME.crt");
            }
        }

        foreach (var path in enrol)
        {
            foreach (var enrolment in EnrolmentFiles.Read(path, trust, now, "enrolled at genesis", warnings))
            {
                enrolled.TryAdd(enrolment.Fingerprint, enrolment);
            }
        }

        foreach (var enrolment in enrolled.Values)
        {
            options.Enrolled.Add(enrolment);
        }

        return warnings;
    }
}
