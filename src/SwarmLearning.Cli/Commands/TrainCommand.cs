using System.CommandLine;
using System.Globalization;
using SwarmLearning.Cli.Terminal;
using SwarmLearning.Client;
using SwarmLearning.Safetensors;
using SwarmLearning.Training;
using SwarmLearning.Training.Data;
using SwarmLearning.Training.Evaluation;
using SwarmLearning.Training.Models;
using SwarmLearning.Training.Optimizers;
using SwarmLearning.Training.Swarm;

namespace SwarmLearning.Cli.Commands;

/// <summary>
/// <c>swarm train</c>: trains one node on its own data, with no swarm: the "local only" baseline when pointed at a
/// node's data directory, the "centralized" one when pointed at the whole dataset. With <c>--swarm</c> it trains as one
/// node of a swarm through the SL node's local channel (the .NET SwarmCallback).
/// </summary>
internal static class TrainCommand
{
    public static Command Create(CliIo io)
    {
        var data = new Option<string>("--data", "-d")
        {
            Description = "A data directory (IDX or CSV files, e.g. one node's directory from 'swarm data split'), or 'fashion-mnist' for Debian's copy.",
            Required = true,
        };
        var model = new Option<string>("--model", "-m") { Description = "Architecture: mlp | cnn.", DefaultValueFactory = _ => "mlp" };
        model.AcceptOnlyFromAmong([.. Architectures.Names]);
        var epochs = new Option<int>("--epochs", "-e") { Description = "Passes over the training data (0 evaluates only, e.g. a model given by --init).", DefaultValueFactory = _ => 10 };
        var output = new Option<string?>("--out", "-o") { Description = "Write the trained model here (safetensors)." };
        var force = new Option<bool>("--force") { Description = "Overwrite --out if it exists." };
        var init = new Option<string?>("--init") { Description = "Start from this model (safetensors, same architecture), e.g. a swarm's merged model." };
        var batchSize = new Option<int>("--batch-size", "-b") { Description = "Samples per step.", DefaultValueFactory = _ => 64 };
        var optimizer = OptimizerOption.Create();
        var learningRate = OptimizerOption.CreateLearningRate();
        var schedule = LearningRateScheduleOption.Create();
        var seed = new Option<ulong>("--seed") { Description = "Seeds the initial weights, the shuffles and dropout.", DefaultValueFactory = _ => 42 };
        var limit = new Option<int?>("--limit") { Description = "Train on only the first N training samples (quick runs)." };
        var labelColumn = new Option<string?>("--label-column") { Description = "CSV data: the label column's name (default 'label')." };
        var threads = new Option<int>("--threads") { Description = "Threads for training (default: every core). Lower it when other training processes share the machine.", DefaultValueFactory = _ => Environment.ProcessorCount };
        var json = new Option<bool>("--json") { Description = "Print the results as one JSON object and no progress." };
        var swarm = new Option<bool>("--swarm") { Description = "Train as one node of a swarm, through the SL node at SWARM_SL_SOCKET or --sl-socket (SWARM_LOOPBACK=1: no swarm, for testing)." };
        var slSocket = new Option<string?>("--sl-socket") { Description = "The SL node's socket (<sl-dir>/ml.sock); default: SWARM_SL_SOCKET." };
        var syncFrequency = new Option<int?>("--sync-frequency") { Description = "HPE's syncFrequency: local batches between two sync rounds (required with --swarm)." };
        var minPeers = new Option<int?>("--min-peers") { Description = "HPE's minPeers: the fewest nodes a round merges (required with --swarm)." };
        var trainingContract = new Option<string?>("--training-contract") { Description = $"HPE's trainingContract (default {SwarmCallbackOptions.DefaultTrainingContract})." };
        var mergeMethod = new Option<string?>("--merge-method") { Description = "HPE's mergeMethod: mean | coordmedian | geomedian | trimmedmean | krum (default mean)." };
        var mergeMomentum = MergeMomentumOption.Create("Merge momentum β in [0, 1) for the rounds this node leads (FedAvgM's server momentum; default 0, HPE's merge).");
        var nodeWeightage = new Option<int?>("--node-weightage") { Description = "HPE's nodeWeightage: this node's weight in merges, 1-100 (default 1)." };
        var checkin = new Option<string?>("--checkin-model-on-train-end") { Description = "HPE's checkinModelOnTrainEnd: snapshot | active | inactive (default snapshot)." };
        checkin.AcceptOnlyFromAmong([.. SwarmCallbackOptions.CheckinModes]);
        var adaptive = new Option<bool>("--use-adaptive-sync") { Description = "HPE's useAdaptiveSync: the SL node sets the sync interval from the test loss." };
        var command = new Command("train", "Train one node's model on its own data, with no swarm (the local and centralized baselines) or with --swarm as one node of a swarm, and report test loss, accuracy and macro-F1.")
        {
            data, model, epochs, output, force, init, batchSize, optimizer, learningRate, schedule, seed, limit, labelColumn, threads, json,
            swarm, slSocket, syncFrequency, minPeers, trainingContract, mergeMethod, mergeMomentum, nodeWeightage, checkin, adaptive,
        };
        mergeMethod.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string?>() is { } name && !SwarmCallbackOptions.MergeMethods.Contains(name.Trim().ToLowerInvariant(), StringComparer.Ordinal))
            {
                r.AddError($"--merge-method must be one of {string.Join(", ", SwarmCallbackOptions.MergeMethods)}, not '{name}'");
            }
        });
        command.Validators.Add(r =>
        {
            Option[] swarmOnly = [slSocket, syncFrequency, minPeers, trainingContract, mergeMethod, mergeMomentum, nodeWeightage, checkin, adaptive];
            if (!r.GetValue(swarm))
            {
                foreach (var option in swarmOnly.Where(o => r.GetResult(o) is { Implicit: false }))
                {
                    r.AddError($"{option.Name} works only with --swarm");
                }

                return;
            }

            if (r.GetValue(syncFrequency) is null || r.GetValue(minPeers) is null)
            {
                r.AddError("--swarm needs --sync-frequency N (local batches between syncs) and --min-peers N (the fewest nodes a round merges)");
            }
        });
        AtLeast(epochs, 0);
        AtLeast(batchSize, 1);
        AtLeast(threads, 1);
        limit.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int?>() is < 1)
            {
                r.AddError("--limit must be at least 1");
            }
        });
        command.SetAction((parse, cancellationToken) => io.RunAsync(() =>
        {
            var swarmSettings = parse.GetValue(swarm)
                ? new SwarmSettings(
                    parse.GetValue(slSocket), parse.GetValue(syncFrequency)!.Value, parse.GetValue(minPeers)!.Value,
                    parse.GetValue(trainingContract) ?? SwarmCallbackOptions.DefaultTrainingContract, parse.GetValue(mergeMethod) ?? "mean",
                    parse.GetValue(nodeWeightage) ?? 1, parse.GetValue(checkin) ?? "snapshot", parse.GetValue(adaptive), parse.GetValue(mergeMomentum))
                : null;
            var settings = new Settings(
                parse.GetValue(data)!, parse.GetValue(model)!, parse.GetValue(epochs), parse.GetValue(output), parse.GetValue(force), parse.GetValue(init),
                parse.GetValue(batchSize), parse.GetValue(optimizer)!, parse.GetValue(learningRate), LearningRateScheduleOption.Parse(parse.GetValue(schedule)), parse.GetValue(seed), parse.GetValue(limit),
                parse.GetValue(labelColumn), parse.GetValue(threads), parse.GetValue(json), swarmSettings);
            return Task.FromResult(Run(io, settings, cancellationToken));
        }));
        return command;
    }

    private static void AtLeast(Option<int> option, int minimum) =>
        option.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < minimum)
            {
                r.AddError($"{option.Name} must be at least {minimum}");
            }
        });

    private sealed record Settings(
        string Data, string Model, int Epochs, string? Out, bool Force, string? Init, int BatchSize, string Optimizer, float? LearningRate, LearningRateSchedule Schedule, ulong Seed,
        int? Limit, string? LabelColumn, int Threads, bool Json, SwarmSettings? Swarm);

    /// <summary>The options of <c>--swarm</c>: HPE's SwarmCallback parameters.</summary>
    private sealed record SwarmSettings(
        string? Socket, int SyncFrequency, int MinPeers, string TrainingContract, string MergeMethod, int NodeWeightage, string Checkin, bool AdaptiveSync, double MergeMomentum);

    private sealed record EpochLine(int Epoch, double Loss, long Samples, double Seconds, double SamplesPerSecond, double TestLoss, double TestAccuracy);

    private static int Run(CliIo io, Settings s, CancellationToken cancellationToken)
    {
        if (s.Out is { } outPath)
        {
            CheckOutput(outPath, s.Force);
        }

        Parallelism.MaxThreads = s.Threads;
        var directory = DataDirectory.ResolvePath(s.Data);
        var data = DataDirectory.Load(directory, s.LabelColumn);
        var train = s.Limit is { } limit && limit < data.Train.Count ? data.Train.Subset([.. Enumerable.Range(0, limit)]) : data.Train;
        var classes = Math.Max(train.ClassCount, data.Test.ClassCount);
        var network = Architectures.Create(s.Model, train.Shape, classes, s.Seed);
        if (s.Init is { } initPath)
        {
            using var initial = SafetensorsFile.Open(initPath);
            network.Load(initial);
        }

        var learningRate = OptimizerOption.LearningRate(s.LearningRate, s.Optimizer);
        var optimizer = OptimizerKinds.Create(s.Optimizer, learningRate);
        var trainer = new Trainer(network, optimizer, s.BatchSize, s.Seed) { Schedule = s.Schedule };
        var o = io.Out;
        if (!s.Json)
        {
            o.WriteLine(Invariant($"data     {directory}: {train.Count:N0} training and {data.Test.Count:N0} test samples of {train.Shape}, {classes} classes"));
            o.WriteLine(Invariant($"model    {s.Model}, {network.ParameterCount:N0} parameters: {network.Describe()}"));
            o.WriteLine(Invariant($"training {s.Epochs} epochs, batch {s.BatchSize}, {s.Optimizer} lr {learningRate:G4} {LearningRateScheduleOption.NameOf(s.Schedule)}, seed {s.Seed}, {s.Threads} threads"));
        }

        var lines = new List<EpochLine>();
        EvaluationResult? final = null;
        SwarmTrainingCallback? swarm = null;
        using (var bar = new ProgressBar(io.Error, !s.Json && io.CanShowProgress))
        {
            try
            {
                if (s.Swarm is { } options)
                {
                    swarm = StartSwarm(io, bar, options, s.Epochs, network, data.Test, cancellationToken);
                    if (!s.Json)
                    {
                        o.WriteLine(swarm.Swarm.IsLoopback
                            ? "swarm    loopback mode (SWARM_LOOPBACK): no SL node, no swarm"
                            : Invariant($"swarm    SL node at {swarm.Swarm.SocketPath}: syncFrequency {options.SyncFrequency}, minPeers {options.MinPeers}, contract {options.TrainingContract}, mergeMethod {options.MergeMethod.ToLowerInvariant()}"));
                    }

                    swarm.OnTrainBegin(trainer);
                }

                var callback = new BarCallback(bar, swarm);
                for (var epoch = 1; epoch <= s.Epochs; epoch++)
                {
                    var result = trainer.TrainEpoch(train, epoch, s.Epochs, callback, cancellationToken);
                    swarm?.OnEpochEnd(trainer, result);
                    var test = final = trainer.Evaluate(data.Test, cancellationToken: cancellationToken);
                    var line = new EpochLine(epoch, result.Loss, result.Samples, result.Elapsed.TotalSeconds, result.SamplesPerSecond, test.Loss, test.Accuracy);
                    lines.Add(line);
                    if (!s.Json)
                    {
                        bar.Clear();
                        o.WriteLine(Invariant(
                            $"epoch {epoch,3}/{s.Epochs}  loss {line.Loss:F4}  {line.Samples:N0} samples in {line.Seconds:F1} s ({line.SamplesPerSecond:N0} samples/s)  test loss {test.Loss:F4}  accuracy {test.Accuracy * 100:F2} %"));
                    }
                }

                if (swarm is not null)
                {
                    swarm.OnTrainEnd(trainer);
                    final = null; // the final swarm model replaced the last epoch's weights
                }
            }
            finally
            {
                swarm?.Dispose();
            }
        }

        // The last epoch's evaluation is of the final weights already; only --epochs 0 and the swarm need one here.
        final ??= trainer.Evaluate(data.Test, cancellationToken: cancellationToken);
        ModelFileInfo? saved = null;
        if (s.Out is { } path)
        {
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["swarm.model"] = s.Model,
                ["swarm.input"] = Invariant($"{train.Shape.Channels}x{train.Shape.Height}x{train.Shape.Width}"),
                ["swarm.classes"] = classes.ToString(CultureInfo.InvariantCulture),
                ["swarm.epochs"] = s.Epochs.ToString(CultureInfo.InvariantCulture),
                ["swarm.test_accuracy"] = final.Accuracy.ToString("R", CultureInfo.InvariantCulture),
                ["swarm.version"] = SwarmCli.Version,
            };
            if (swarm?.Swarm.LastResult is { } merged)
            {
                metadata["swarm.round"] = merged.Round.ToString(CultureInfo.InvariantCulture);
            }

            saved = SafetensorsWriter.Write(path, network.ToModel(metadata));
        }

        if (s.Json)
        {
            io.WriteJson(new
            {
                model = s.Model,
                data = directory,
                parameters = network.ParameterCount,
                batchSize = s.BatchSize,
                optimizer = s.Optimizer,
                learningRate,
                learningRateSchedule = LearningRateScheduleOption.NameOf(s.Schedule),
                seed = s.Seed,
                threads = s.Threads,
                trainSamples = train.Count,
                epochs = lines,
                test = Summary(final),
                swarm = swarm is null ? null : SwarmSummary(swarm.Swarm),
                @out = saved?.Path,
                modelHash = saved?.Hash,
            });
            return SwarmCli.Success;
        }

        if (swarm?.Swarm is { IsLoopback: false, LastResult: { } last } node)
        {
            o.WriteLine(Invariant($"swarm    final model of round {last.Round} (hash {(last.ModelHash.Length > 0 ? last.ModelHash : "none")}), {node.SyncCount} syncs during training"));
        }

        o.WriteLine(Invariant($"test     loss {final.Loss:F4}  accuracy {final.Accuracy * 100:F2} %  macro-F1 {final.MacroF1:F4}  ({final.Samples:N0} samples)"));
        if (saved is not null)
        {
            o.WriteLine(Invariant($"saved    {saved.Path} ({saved.Length:N0} bytes, hash {saved.Hash})"));
        }

        return SwarmCli.Success;
    }

    private static SwarmTrainingCallback StartSwarm(CliIo io, ProgressBar bar, SwarmSettings s, int epochs, Training.Network network, Dataset validation, CancellationToken cancellationToken)
    {
        var options = new SwarmCallbackOptions
        {
            SyncFrequency = s.SyncFrequency,
            MinPeers = s.MinPeers,
            TrainingContract = s.TrainingContract,
            MergeMethod = s.MergeMethod,
            MergeMomentum = s.MergeMomentum,
            NodeWeightage = s.NodeWeightage,
            CheckinModelOnTrainEnd = s.Checkin,
            UseAdaptiveSync = s.AdaptiveSync,
            TotalEpochs = epochs,
            SlSocket = s.Socket,
        };
        // The swarm's loss and metric (and adaptive sync's input) are the test set's, as in HPE's examples.
        var logger = new LineLogger(io.Error, bar, "swarm", showErrors: false);
        return new SwarmTrainingCallback(network, options, validation, logger) { CancellationToken = cancellationToken };
    }

    private static object SwarmSummary(SwarmCallback swarm) => new
    {
        loopback = swarm.IsLoopback,
        socket = swarm.SocketPath,
        node = swarm.Node?.Node,
        syncs = swarm.SyncCount,
        round = swarm.LastResult?.Round,
        modelHash = swarm.LastResult?.ModelHash,
        contributed = swarm.LastResult?.Contributed,
    };

    private static object Summary(EvaluationResult r) => new { loss = r.Loss, accuracy = r.Accuracy, macroF1 = r.MacroF1, samples = r.Samples };

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static void CheckOutput(string outPath, bool force)
    {
        if (string.IsNullOrWhiteSpace(outPath))
        {
            throw new SwarmException("--out is empty; give the path of the model file to write");
        }

        var full = Path.GetFullPath(outPath);
        if (File.Exists(full) && !force)
        {
            throw new SwarmException($"{outPath}: the file exists; pass --force to overwrite it");
        }

        var directory = Path.GetDirectoryName(full);
        if (directory is not null && !Directory.Exists(directory))
        {
            throw new SwarmException($"{outPath}: the directory {directory} does not exist");
        }
    }

    /// <summary>Draws the epoch's progress: batch, running loss and speed; then hands the batch to the swarm, if any.</summary>
    private sealed class BarCallback(ProgressBar bar, TrainingCallback? next) : TrainingCallback
    {
        public override void OnBatchEnd(Trainer trainer, BatchProgress p)
        {
            bar.Report(
                Invariant($"epoch {p.Epoch}/{p.Epochs}"),
                p.Batch,
                p.Batches,
                Invariant($"batch {p.Batch}/{p.Batches}  loss {p.MeanLoss:F4}  {p.SamplesPerSecond:N0} samples/s"));
            next?.OnBatchEnd(trainer, p);
        }
    }
}
