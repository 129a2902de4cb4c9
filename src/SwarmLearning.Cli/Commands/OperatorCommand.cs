using System.CommandLine;
using Microsoft.Extensions.Logging;
using SwarmLearning.Cli.Demo;
using SwarmLearning.Cli.Terminal;
using SwarmLearning.Operator;
using SwarmLearning.Operator.Profile;

namespace SwarmLearning.Cli.Commands;

/// <summary>
/// <c>swarm operator</c>: the Swarm Operator (SWOP). Watches the task runner its profile names and executes the tasks
/// assigned to it on this host, as processes: SL node + ML program pairs for RUN_SWARM, downloads and archives for
/// MAKE_SWARM_USER_CONTENT (docs/operator.md).
/// </summary>
internal static class OperatorCommand
{
    public static Command Create(CliIo io)
    {
        var profile = new Option<string>("--profile", "-p") { Description = "The operator's profile (YAML, HPE's SWOP profile for processes; see docs/operator.md).", Required = true };
        var check = new Option<bool>("--check") { Description = "Validate the profile, print what it runs, and exit." };
        var stopGrace = new Option<int>("--stop-grace") { Description = "Seconds a process gets after SIGTERM before its process tree is killed.", DefaultValueFactory = _ => 10 };
        stopGrace.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 0 or > 600)
            {
                r.AddError("--stop-grace must be from 0 to 600 seconds");
            }
        });
        var verbose = new Option<bool>("--verbose") { Description = "Log debug lines too." };
        var command = new Command("operator", "Run a Swarm Operator (SWOP): watch a task runner on the ledger and execute its tasks on this host (SL node + ML program pairs, content downloads), reporting to the ledger.")
        {
            profile, check, stopGrace, verbose,
        };
        command.SetAction((parse, cancellationToken) => io.RunAsync(async () =>
        {
            var loaded = ProfileLoader.Load(parse.GetValue(profile)!);
            var p = loaded.Profile;
            if (parse.GetValue(check))
            {
                await io.Out.WriteLineAsync(
                    $"profile valid: group '{p.GroupName}' watches task runner '{p.TaskRunner}' on {p.SnAddress}, {p.Nodes.Count} node(s): " +
                    string.Join(", ", p.Nodes.Select(n => $"{n.Name} (idx {n.Index}, port {n.FilePort}, data {n.PrivateData})"))).ConfigureAwait(false);
                if (loaded.Ignored.Count > 0)
                {
                    await io.Out.WriteLineAsync($"not used by processes: {string.Join(", ", loaded.Ignored)}").ConfigureAwait(false);
                }

                return SwarmCli.Success;
            }

            var swarm = SwarmExecutable.Current();
            var options = new OperatorOptions
            {
                Swarm = new SwarmCommand(swarm.FileName, swarm.LeadingArguments),
                StopGrace = TimeSpan.FromSeconds(parse.GetValue(stopGrace)),
            };
            using var logging = LoggerFactory.Create(b => NodeLogging.Configure(b, parse.GetValue(verbose)));
            var logger = logging.CreateLogger("SwarmLearning.Operator");
            if (loaded.Ignored.Count > 0)
            {
                await io.Error.WriteLineAsync($"profile fields for containers, not used by processes: {string.Join(", ", loaded.Ignored)}").ConfigureAwait(false);
            }

            await new SwarmOperator(p, options, logger).RunAsync(cancellationToken).ConfigureAwait(false);
            await io.Error.WriteLineAsync($"operator '{p.GroupName}' stopped").ConfigureAwait(false);
            return SwarmCli.Success;
        }));
        return command;
    }
}
