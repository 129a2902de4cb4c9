using System.CommandLine;
using SwarmLearning.Cli.Terminal;
using SwarmLearning.Identity;
using SwarmLearning.Network;
using SwarmLearning.Node.Hosting;

namespace SwarmLearning.Cli.Commands;

/// <summary>
/// <c>swarm sl</c>: runs a Swarm Learning node beside one ML program. It follows an SN's ledger with a verified
/// replica of its own, registers and heartbeats, serves its models to peers on the file port (mutual TLS, SL members
/// only) and talks to its ML program over the local channel (a Unix socket, docs/local-channel.md).
/// </summary>
internal static class SlCommand
{
    public static Command Create(CliIo io)
    {
        var name = new Option<string>("--name") { Description = "The SL node's identity name: uses CERTS/NAME.crt and CERTS/NAME.key (issued with --role sl). A new pair installed over them while the node runs is rotated to within a heartbeat or two (docs/identity.md).", Required = true };
        var certs = new Option<string>("--certs") { Description = "Directory with the identity files and the CA certificate (ca.crt).", DefaultValueFactory = _ => "certs" };
        var sn = new Option<string>("--sn") { Description = $"API address (HOST[:PORT], port {SwarmNetworkOptions.DefaultApiPort} by default) of the SN this node follows and submits through.", Required = true };
        var dir = new Option<string>("--dir") { Description = "The node's directory: its ledger replica, its models (final.safetensors at the end) and, by default, the socket.", DefaultValueFactory = _ => "sl-data" };
        var filePort = new Option<int>("--file-port") { Description = "The file server's port (HTTPS, mutual TLS), where peers fetch this node's models.", DefaultValueFactory = _ => SwarmLearningNodeOptions.DefaultFilePort };
        var listen = new Option<string>("--listen") { Description = "The IP address the file server listens on; 0.0.0.0 for all interfaces.", DefaultValueFactory = _ => "127.0.0.1" };
        var host = new Option<string>("--host") { Description = "The host name peers reach this node's file server at; must be in its certificate.", DefaultValueFactory = _ => "localhost" };
        var makeMeAdmin = new Option<bool>("--make-me-admin") { Description = "false keeps this node out of every round's leader order (HPE's SL_MAKE_ME_ADMIN).", DefaultValueFactory = _ => true };
        var socket = new Option<string?>("--socket") { Description = "The local channel's Unix socket (default DIR/ml.sock); the ML program finds it through SWARM_SL_SOCKET." };
        var maxModel = new Option<long>("--max-model-mib") { Description = "The largest model this node accepts, in MiB: from its ML program (larger is answered 413) and from peers (a submission the ledger records as larger is not fetched).", DefaultValueFactory = _ => SwarmLearningNodeOptions.DefaultMaxModelBytes >> 20 };
        maxModel.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<long>() is < 1 or > (1L << 20))
            {
                r.AddError("--max-model-mib must be from 1 to 1048576 (1 TiB)");
            }
        });
        var requests = new Option<int>("--requests-per-peer") { Description = "Requests one peer may make to the file server per 10 s; more are answered 429 with a Retry-After.", DefaultValueFactory = _ => new SwarmLearningNodeOptions().RequestsPerPeer };
        requests.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < 1)
            {
                r.AddError("--requests-per-peer must be 1 or more");
            }
        });
        var serves = new Option<int>("--max-concurrent-serves") { Description = "The most models the file server sends at once; more requests wait their turn. When every participant fetches the merged model from the leader together, a few at a time reach the last one sooner. 0: no limit.", DefaultValueFactory = _ => SwarmLearningNodeOptions.DefaultMaxConcurrentServes };
        serves.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 0 or > 1024)
            {
                r.AddError("--max-concurrent-serves must be from 0 (no limit) to 1024");
            }
        });
        var verbose = new Option<bool>("--verbose") { Description = "Log every request and model transfer (debug level)." };
        var command = new Command("sl", "Run a Swarm Learning node for one ML program: follow an SN's ledger, serve models to peers (30305), run the rounds, and talk to the ML program over a local socket.")
        {
            name, certs, sn, dir, filePort, listen, host, socket, makeMeAdmin, maxModel, requests, serves, verbose,
        };
        command.SetAction((parse, cancellationToken) => io.RunAsync(async () =>
        {
            var address = parse.GetValue(sn)!;
            if (!address.Contains(':', StringComparison.Ordinal))
            {
                address = $"{address}:{SwarmNetworkOptions.DefaultApiPort}";
            }

            var options = new SwarmLearningNodeOptions
            {
                DataDirectory = parse.GetValue(dir)!,
                SwarmNetwork = address,
                FilePort = parse.GetValue(filePort),
                ListenAddress = parse.GetValue(listen)!,
                Host = parse.GetValue(host)!,
                SocketPath = parse.GetValue(socket),
                MakeMeAdmin = parse.GetValue(makeMeAdmin),
                MaxModelBytes = parse.GetValue(maxModel) << 20,
                RequestsPerPeer = parse.GetValue(requests),
                MaxConcurrentServes = parse.GetValue(serves),
            };
            return await RunAsync(io, options, parse.GetValue(certs)!, parse.GetValue(name)!, parse.GetValue(verbose), cancellationToken).ConfigureAwait(false);
        }));
        return command;
    }

    private static async Task<int> RunAsync(CliIo io, SwarmLearningNodeOptions options, string certs, string name, bool verbose, CancellationToken cancellationToken)
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
        if (identity.Role != SwarmRole.Sl)
        {
            throw new SwarmException($"'{identity.Name}' is a {SwarmRoles.ToName(identity.Role)} identity; an SL node needs one issued with --role sl (swarm certs issue --role sl --name {name})");
        }

        var trust = SwarmTrust.Load(Path.Combine(certs, "ca.crt"));
        var error = io.Error;
        if (CertsCommand.ExpiryWarning(identity, Path.Combine(certs, $"{name}.crt"), DateTimeOffset.UtcNow) is { } expiring)
        {
            await error.WriteLineAsync(expiring).ConfigureAwait(false);
        }

        var running = await SwarmLearningHost.StartAsync(options, identity, trust, logging => NodeLogging.Configure(logging, verbose), cancellationToken).ConfigureAwait(false);
        await using var stop = running.ConfigureAwait(false);
        await error.WriteLineAsync(
            $"SL node '{identity.Name}' ({identity.Fingerprint.Short}) serving: models https://{options.Host}:{options.FilePort}, ML programs SWARM_SL_SOCKET={running.SocketPath}; SN {running.Node.Ledger.SnAddress}; Ctrl+C stops it.").ConfigureAwait(false);
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            await error.WriteLineAsync($"SL node '{identity.Name}' stopping at ledger height {running.Node.Ledger.Height}").ConfigureAwait(false);
        }

        return SwarmCli.Success;
    }
}
