using System.CommandLine;
using System.Net;
using SwarmLearning.Cli.Ctl;
using SwarmLearning.Cli.Terminal;
using SwarmLearning.Identity;

namespace SwarmLearning.Cli.Commands;

// swarm ctl serve: the ctl statements over REST on port 30306, and the dashboard.
internal static partial class CtlCommand
{
    private static Command Serve(CliIo io)
    {
        var connection = new Connection();
        var listen = new Option<string>("--listen")
        {
            Description = "The address to listen on. Loopback (127.0.0.1, the default) may be plain HTTP; any other address requires mutual TLS (--tls).",
            DefaultValueFactory = _ => "127.0.0.1",
        };
        var port = new Option<int>("--port") { Description = $"The port (HPE's SWCI API port {CtlServerOptions.DefaultPort}; 0 picks a free one).", DefaultValueFactory = _ => CtlServerOptions.DefaultPort };
        var tls = new Option<bool>("--tls") { Description = "Serve HTTPS with the ctl identity's certificate and require client certificates of the swarm's CA (required off loopback)." };
        var command = new Command("serve", "Serve the dashboard (/) and the ctl commands over REST (SWCI's API, port 30306): GET /v1/contracts, /v1/tasks, …, POST /v1/statements. Runs until Ctrl+C.")
        {
            listen, port, tls,
        };
        connection.AddTo(command);
        command.SetAction((parse, cancellationToken) => io.RunAsync(async () =>
        {
            if (!IPAddress.TryParse(parse.GetValue(listen), out var address))
            {
                throw new SwarmException($"--listen '{parse.GetValue(listen)}' is not an IP address (for example 127.0.0.1, or 0.0.0.0 with --tls)");
            }

            SwarmIdentity? identity = null;
            SwarmTrust? trust = null;
            if (parse.GetValue(tls))
            {
                var context = connection.Target(parse).Resolve(connection.Store(parse), null);
                trust = SwarmTrust.Load(Path.Combine(context.Certs, "ca.crt"));
                identity = SwarmIdentity.Load(Path.Combine(context.Certs, $"{context.Identity}.crt"), Path.Combine(context.Certs, $"{context.Identity}.key"));
            }

            try
            {
                using var runner = connection.Runner(parse, io);
                var server = await CtlServer.StartAsync(new CtlServerOptions { Listen = address, Port = parse.GetValue(port), Identity = identity, Trust = trust, Logger = new LineLogger(io.Error, null, "ctl serve") }, runner, cancellationToken)
                    .ConfigureAwait(false);
                await using (server.ConfigureAwait(false))
                {
                    await io.Out.WriteLineAsync($"swarm ctl serves the dashboard on {server.Address} and the SWCI REST API on {server.Address}v1/ {(identity is null ? "(plain HTTP, loopback only)" : "(mutual TLS: clients need a certificate of the swarm's CA)")}; Ctrl+C stops it")
                        .ConfigureAwait(false);
                    await server.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
                }
            }
            finally
            {
                identity?.Dispose();
            }

            return SwarmCli.Success;
        }));
        return command;
    }
}
