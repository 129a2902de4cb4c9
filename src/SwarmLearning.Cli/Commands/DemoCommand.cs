using System.CommandLine;
using SwarmLearning.Cli.Demo;
using SwarmLearning.Client;
using SwarmLearning.Training.Models;

namespace SwarmLearning.Cli.Commands;

/// <summary>
/// <c>swarm demo</c>: a complete local swarm in one command, every component a separate process on loopback with
/// fresh certificates: a sentinel SN, N SL nodes and N ML programs train Fashion-MNIST on an HPE-style biased split,
/// shown live, then compared with each node training alone (<see cref="DemoRunner"/>). <c>swarm demo merge-round</c>
/// plays one merge round with files.
/// </summary>
internal static partial class DemoCommand
{
    public static Command Create(CliIo io)
    {
        var nodes = new Option<int>("--nodes", "-n")
        {
            Description = $"SL node + ML program pairs ({DemoOptions.MinNodes}-{DemoOptions.MaxNodes}).",
            DefaultValueFactory = _ => 4,
        };
        nodes.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < DemoOptions.MinNodes or > DemoOptions.MaxNodes)
            {
                r.AddError($"--nodes must be from {DemoOptions.MinNodes} to {DemoOptions.MaxNodes}, not {r.GetValueOrDefault<int>()}");
            }
        });
        var epochs = new Option<int>("--epochs", "-e") { Description = "Epochs each node trains, in the swarm and alone.", DefaultValueFactory = _ => 2 };
        epochs.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < 1)
            {
                r.AddError($"--epochs must be at least 1, not {r.GetValueOrDefault<int>()}");
            }
        });
        var mergeMethod = new Option<string>("--merge-method") { Description = "HPE's mergeMethod: mean | coordmedian | geomedian | trimmedmean | krum.", DefaultValueFactory = _ => "mean" };
        mergeMethod.Validators.Add(r =>
        {
            if (!SwarmCallbackOptions.MergeMethods.Contains(r.GetValueOrDefault<string>()?.Trim().ToLowerInvariant(), StringComparer.Ordinal))
            {
                r.AddError($"--merge-method must be one of {string.Join(", ", SwarmCallbackOptions.MergeMethods)}, not '{r.GetValueOrDefault<string>()}'");
            }
        });
        var mergeMomentum = MergeMomentumOption.Create("Merge momentum β in [0, 1): each leader adds β times the swarm's last step to its merge (FedAvgM's server momentum; 0: HPE's merge).");
        var model = new Option<string>("--model", "-m") { Description = "Architecture: mlp (the defaults take well under a minute on 2 cores) | cnn (a few minutes; more accurate).", DefaultValueFactory = _ => "mlp" };
        model.AcceptOnlyFromAmong([.. Architectures.Names]);
        var syncFrequency = new Option<int?>("--sync-frequency") { Description = $"HPE's syncFrequency: batches between merges (default: about {DemoOptions.RoundsPerEpoch} rounds per epoch)." };
        syncFrequency.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int?>() is < 1)
            {
                r.AddError("--sync-frequency must be at least 1");
            }
        });
        var directory = new Option<string?>("--dir") { Description = "A new or empty directory for the certificates, data, ledgers, models and logs (default: a fresh one in the temporary directory, removed after a successful run unless --keep)." };
        var limit = new Option<int?>("--limit") { Description = "Each node trains on at most N of its samples (quick runs)." };
        limit.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int?>() is < 1)
            {
                r.AddError("--limit must be at least 1");
            }
        });
        var json = new Option<bool>("--json") { Description = "Print only the summary, as JSON (no live view)." };
        var keep = new Option<bool>("--keep") { Description = "Keep the demo's directory (logs, models, ledgers) after a successful run." };
        var noDashboard = new Option<bool>("--no-dashboard") { Description = "Do not serve the dashboard (by default it is served on http://127.0.0.1:30306/ while the demo runs)." };
        var dashboardPort = new Option<int?>("--dashboard-port") { Description = "The dashboard's port on 127.0.0.1 (default 30306, or a free one if that is busy; 0: a free one). With --json the dashboard is served only when this is given." };
        dashboardPort.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int?>() is < 0 or > 65535)
            {
                r.AddError("--dashboard-port must be a TCP port (1-65535), or 0 for a free one");
            }
        });
        var command = new Command(
            "demo",
            "Run a complete local swarm: a sentinel SN, N SL nodes and N ML programs as processes on loopback train Fashion-MNIST on a biased split; then compare each node's swarm and local-only accuracy.")
        {
            nodes, epochs, mergeMethod, mergeMomentum, model, syncFrequency, directory, limit, json, keep, noDashboard, dashboardPort,
        };
        command.Validators.Add(r =>
        {
            // krum tolerates f Byzantine models among n ≥ 2f + 3; with two nodes even f = 0 has too few.
            if (r.GetValue(mergeMethod)?.Trim().ToLowerInvariant() == "krum" && r.GetValue(nodes) < 3)
            {
                r.AddError("--merge-method krum needs at least 3 nodes (--nodes 3)");
            }
        });
        command.Subcommands.Add(MergeRound(io));
        command.SetAction((parse, cancellationToken) => io.RunAsync(() => DemoRunner.RunAsync(
            io,
            new DemoOptions
            {
                Nodes = parse.GetValue(nodes),
                Epochs = parse.GetValue(epochs),
                MergeMethod = parse.GetValue(mergeMethod)!.Trim().ToLowerInvariant(),
                MergeMomentum = parse.GetValue(mergeMomentum),
                Model = parse.GetValue(model)!,
                SyncFrequency = parse.GetValue(syncFrequency),
                Directory = parse.GetValue(directory),
                Limit = parse.GetValue(limit),
                Json = parse.GetValue(json),
                Keep = parse.GetValue(keep),
                Dashboard = !parse.GetValue(noDashboard),
                DashboardPort = parse.GetValue(dashboardPort),
            },
            cancellationToken)));
        return command;
    }
}
