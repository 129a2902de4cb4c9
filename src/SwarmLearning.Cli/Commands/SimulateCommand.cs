using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Logging;
using SwarmLearning.Cli.Terminal;
using SwarmLearning.Merging;
using SwarmLearning.Node.Simulation;
using SwarmLearning.Training.Data.Partitioning;
using SwarmLearning.Training.Models;

namespace SwarmLearning.Cli.Commands;

/// <summary>
/// <c>swarm simulate</c>: a whole swarm in one process, with the real round engine, contracts and model checks over an
/// in-memory ledger and transport (docs/simulation.md). For experiments and quick comparisons of merge methods and
/// data splits.
/// </summary>
internal static class SimulateCommand
{
    public static Command Create(CliIo io)
    {
        var nodes = new Option<int>("--nodes", "-n") { Description = "Virtual SL nodes.", DefaultValueFactory = _ => 6 };
        var data = new Option<string>("--data", "-d") { Description = "A data directory, or 'fashion-mnist' for Debian's copy.", DefaultValueFactory = _ => "fashion-mnist" };
        var split = new Option<string>("--split") { Description = "How the training data is split among nodes: iid | dirichlet | biased (HPE's: 3-4 favoured classes at 1:3).", DefaultValueFactory = _ => "biased" };
        split.AcceptOnlyFromAmong([.. PartitionMethods.All.Select(m => m.ToName())]);
        var alpha = new Option<double>("--alpha") { Description = "Dirichlet concentration (smaller: more skewed).", DefaultValueFactory = _ => PartitionOptions.DefaultAlpha };
        var model = new Option<string>("--model", "-m") { Description = "Architecture: mlp | cnn.", DefaultValueFactory = _ => "mlp" };
        model.AcceptOnlyFromAmong([.. Architectures.Names]);
        var epochs = new Option<int>("--epochs", "-e") { Description = "Local epochs per node.", DefaultValueFactory = _ => 2 };
        var syncFrequency = new Option<int>("--sync-frequency") { Description = "Batches between sync rounds (HPE's syncFrequency).", DefaultValueFactory = _ => 128 };
        var minPeers = new Option<int>("--min-peers") { Description = "Fewest nodes per round (default: all of them)." };
        var method = new Option<string>("--merge-method") { Description = "mean | coordmedian | geomedian | trimmedmean | krum.", DefaultValueFactory = _ => "mean" };
        method.AcceptOnlyFromAmong([.. MergeMethods.All.Select(m => m.Name)]);
        var trim = new Option<double>("--trim-fraction") { Description = "trimmedmean's β: the fraction of the models trimmed from each end, ⌊β n⌋ per side (0.1 trims nothing below 10 nodes).", DefaultValueFactory = _ => 0.1 };
        trim.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<double>() is not (>= 0 and < 0.5))
            {
                r.AddError("--trim-fraction must be at least 0 and below 0.5");
            }
        });
        var krumSelect = new Option<int?>("--krum-select") { Description = "krum: how many of the lowest-scored models to average (multi-Krum; 1 is plain Krum). Default: n - f, all but the f = (n - 3) / 2 Krum tolerates." };
        krumSelect.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int?>() is < 1)
            {
                r.AddError("--krum-select must be at least 1");
            }
        });
        var momentum = MergeMomentumOption.Create("Merge momentum β (FedAvgM's server momentum): every leader publishes its merge plus β times the step between the last two merged models; 0 merges as HPE does (docs/merge-methods.md).");
        var batchSize = new Option<int>("--batch-size", "-b") { Description = "Samples per step.", DefaultValueFactory = _ => 64 };
        var optimizer = OptimizerOption.Create(" of every node");
        var learningRate = OptimizerOption.CreateLearningRate(" on every node");
        var schedule = LearningRateScheduleOption.Create();
        var seed = new Option<ulong>("--seed") { Description = "Seeds the split, the initial weights and the shuffles.", DefaultValueFactory = _ => 42 };
        var limit = new Option<int>("--limit") { Description = "Use only the first N training samples (quick runs)." };
        var adaptive = new Option<bool>("--use-adaptive-sync") { Description = "HPE's useAdaptiveSync: after each merge, every node measures the merged model on a slice of its own data and its SL session sets the next interval (docs/protocol.md)." };
        var attack = new Option<string>("--attack") { Description = "Poisoning by the last --attackers nodes, every round after the first: none | scale (values × --attack-scale) | noise (Gaussian noise the size of the weights).", DefaultValueFactory = _ => "none" };
        attack.AcceptOnlyFromAmong("none", "scale", "noise");
        var attackers = new Option<int>("--attackers") { Description = "How many nodes poison (the last ones).", DefaultValueFactory = _ => 1 };
        var attackScale = new Option<double>("--attack-scale") { Description = "The factor of --attack scale.", DefaultValueFactory = _ => 100 };
        var local = new Option<bool>("--local") { Description = "Also train each node alone on its own data, for the local-only comparison." };
        var verbose = new Option<bool>("--verbose") { Description = "Show the nodes' round logs." };
        var json = new Option<bool>("--json") { Description = "Print the results as one JSON object." };
        var command = new Command("simulate", "Run a whole swarm in one process: N virtual nodes train on their own share of the data and merge every few batches through the real round engine over an in-memory ledger.")
        {
            nodes, data, split, alpha, model, epochs, syncFrequency, minPeers, method, trim, krumSelect, momentum, batchSize, optimizer, learningRate, schedule, seed, limit, adaptive, attack, attackers, attackScale, local, verbose, json,
        };
        command.SetAction((parse, cancellationToken) => io.RunAsync(async () =>
        {
            // Both options accept only known names, so the parses cannot fail here.
            _ = PartitionMethods.TryParse(parse.GetValue(split), out var splitMethod);
            _ = MergeMethods.TryParse(parse.GetValue(method), out var mergeMethod);
            var options = new SimulationOptions
            {
                Nodes = parse.GetValue(nodes),
                Data = parse.GetValue(data)!,
                Split = splitMethod,
                Alpha = parse.GetValue(alpha),
                Model = parse.GetValue(model)!,
                Epochs = parse.GetValue(epochs),
                SyncFrequency = parse.GetValue(syncFrequency),
                MinPeers = parse.GetValue(minPeers),
                MergeMethod = mergeMethod,
                TrimFraction = parse.GetValue(trim),
                KrumSelect = parse.GetValue(krumSelect),
                MergeMomentum = parse.GetValue(momentum),
                BatchSize = parse.GetValue(batchSize),
                Optimizer = parse.GetValue(optimizer)!,
                LearningRate = OptimizerOption.LearningRate(parse.GetValue(learningRate), parse.GetValue(optimizer)!),
                Schedule = LearningRateScheduleOption.Parse(parse.GetValue(schedule)),
                Seed = parse.GetValue(seed),
                Limit = parse.GetValue(limit),
                UseAdaptiveSync = parse.GetValue(adaptive),
                Attack = SimulatedAttacks.TryParse(parse.GetValue(attack), out var poisoning) ? poisoning : SimulatedAttack.None,
                Attackers = parse.GetValue(attackers),
                AttackScale = parse.GetValue(attackScale),
                LocalBaseline = parse.GetValue(local),
            };
            return await RunAsync(io, options, parse.GetValue(verbose), parse.GetValue(json), cancellationToken).ConfigureAwait(false);
        }));
        return command;
    }

    private static async Task<int> RunAsync(CliIo io, SimulationOptions options, bool verbose, bool json, CancellationToken cancellationToken)
    {
        using var loggers = LoggerFactory.Create(l =>
        {
            if (verbose)
            {
                NodeLogging.AddConsole(l);
            }

            l.SetMinimumLevel(verbose ? LogLevel.Information : LogLevel.Warning);
        });
        var error = io.Error;
        if (!json)
        {
            await error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"Simulating {options.Nodes} nodes ({options.Split.ToName()} split, {options.Model}, {options.Epochs} epoch(s), {options.Optimizer} lr {options.LearningRate:G4} {LearningRateScheduleOption.NameOf(options.Schedule)}, sync every {options.SyncFrequency} batches{(options.UseAdaptiveSync ? " (adaptive)" : "")}, {options.MergeMethod.ToName()}{(options.MergeMomentum > 0 ? FormattableString.Invariant($" with momentum {options.MergeMomentum:0.###}") : "")}{(options.Attack == SimulatedAttack.None ? "" : $", {options.Attackers} node(s) poisoning: {options.Attack.ToString().ToLowerInvariant()}")})")).ConfigureAwait(false);
        }

        var progress = new SynchronousProgress(p =>
        {
            if (!json && p.Epoch > 0)
            {
                var accuracy = double.IsNaN(p.Accuracy) ? "" : string.Create(CultureInfo.InvariantCulture, $", its model's test accuracy {p.Accuracy * 100:0.00} %");
                error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {p.Node}: epoch {p.Epoch}/{p.Epochs} done, round {p.Round}{accuracy}"));
            }
        });
        var result = await SimulationRunner.RunAsync(options, progress, loggers, cancellationToken).ConfigureAwait(false);
        if (json)
        {
            io.WriteJson(result);
            return SwarmCli.Success;
        }

        var o = io.Out;
        await o.WriteLineAsync().ConfigureAwait(false);
        await o.WriteLineAsync(options.LocalBaseline ? "node      samples  local-only acc.  swarm acc.  final model" : "node      samples  swarm acc.  final model").ConfigureAwait(false);
        foreach (var n in result.Nodes)
        {
            var local = n.LocalAccuracy is { } l ? string.Create(CultureInfo.InvariantCulture, $"{l * 100,13:0.00} %  ") : "";
            await o.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{n.Name,-8} {n.Samples,8}  {local}{n.SwarmAccuracy * 100,8:0.00} %  {n.FinalModelHash[..16]}…{(n.Attacker ? "  (poisoning)" : "")}")).ConfigureAwait(false);
        }

        var identical = result.Nodes.Select(n => n.FinalModelHash).Distinct(StringComparer.Ordinal).Count() == 1;
        await o.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"{result.Rounds} rounds; swarm model: test accuracy {result.SwarmAccuracy * 100:0.00} %, macro-F1 {result.SwarmMacroF1:0.0000}, {(result.SwarmLoss is { } loss ? $"loss {loss:0.0000}" : "loss not finite (the model diverged)")}; final model {(identical ? "identical on every node" : "DIFFERS between nodes")}; {result.Seconds:0.0} s")).ConfigureAwait(false);
        return identical ? SwarmCli.Success : SwarmCli.Failure;
    }

    /// <summary>Reports on the caller's thread (Progress&lt;T&gt; would post to the thread pool and reorder lines).</summary>
    private sealed class SynchronousProgress(Action<SimulationProgress> report) : IProgress<SimulationProgress>
    {
        private readonly Lock _lock = new();

        public void Report(SimulationProgress value)
        {
            lock (_lock)
            {
                report(value);
            }
        }
    }
}
