using System.Diagnostics;
using Microsoft.Extensions.Logging;
using SwarmLearning.Ledger.Transactions;
using SwarmLearning.Merging;
using SwarmLearning.Node.Rounds;
using SwarmLearning.Node.Sessions;
using SwarmLearning.Training;
using SwarmLearning.Training.Data;
using SwarmLearning.Training.Data.Partitioning;
using SwarmLearning.Training.Models;
using SwarmLearning.Training.Optimizers;

namespace SwarmLearning.Node.Simulation;

/// <summary>What <c>swarm simulate</c> runs.</summary>
public sealed record SimulationOptions
{
    /// <summary>Virtual nodes.</summary>
    public int Nodes { get; init; } = 6;

    /// <summary>The data directory or alias (<c>fashion-mnist</c>).</summary>
    public string Data { get; init; } = "fashion-mnist";

    /// <summary>How the training set is split among the nodes.</summary>
    public PartitionMethod Split { get; init; } = PartitionMethod.Biased;

    /// <summary>Dirichlet α.</summary>
    public double Alpha { get; init; } = PartitionOptions.DefaultAlpha;

    /// <summary><c>mlp</c> or <c>cnn</c>.</summary>
    public string Model { get; init; } = "mlp";

    /// <summary>Local epochs per node.</summary>
    public int Epochs { get; init; } = 2;

    /// <summary>Batches between syncs (HPE's syncFrequency).</summary>
    public int SyncFrequency { get; init; } = 128;

    /// <summary>minPeers; 0 means every node.</summary>
    public int MinPeers { get; init; }

    /// <summary>The merge method.</summary>
    public MergeMethod MergeMethod { get; init; } = MergeMethod.Mean;

    /// <summary><c>trimmedmean</c>'s β: the fraction of the models trimmed from each end.</summary>
    public double TrimFraction { get; init; } = 0.1;

    /// <summary><c>krum</c>: the models averaged (multi-Krum); null: n − f.</summary>
    public int? KrumSelect { get; init; }

    /// <summary>Merge momentum β in [0, 1) of every leader (<see cref="SessionOptions.MergeMomentum"/>); 0: none.</summary>
    public double MergeMomentum { get; init; }

    /// <summary>Mini-batch size.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Every node's optimizer, by name (<see cref="OptimizerKinds"/>): <c>adam</c> or <c>sgd</c>.</summary>
    public string Optimizer { get; init; } = "adam";

    /// <summary>The optimizer's learning rate.</summary>
    public float LearningRate { get; init; } = 1e-3f;

    /// <summary>How each node's learning rate moves over its epochs (the local-only baseline uses the same).</summary>
    public LearningRateSchedule Schedule { get; init; }

    /// <summary>Seeds the split, the initial weights and the shuffles.</summary>
    public ulong Seed { get; init; } = 42;

    /// <summary>At most this many training samples (0: all), for quick runs.</summary>
    public int Limit { get; init; }

    /// <summary>
    /// HPE's useAdaptiveSync: after every merge each node measures the merged model on a validation slice of its own
    /// share (every 10th sample, at most <see cref="AdaptiveValidationSamples"/>) and its session sets the next interval.
    /// </summary>
    public bool UseAdaptiveSync { get; init; }

    /// <summary>What the poisoning nodes do to their submissions (docs/security.md).</summary>
    public SimulatedAttack Attack { get; init; }

    /// <summary>How many nodes poison (the last ones: with 6 nodes and 1 attacker, node6).</summary>
    public int Attackers { get; init; } = 1;

    /// <summary>The factor of <see cref="SimulatedAttack.Scale"/>.</summary>
    public double AttackScale { get; init; } = 100;

    /// <summary>The most samples of a node's share it validates on with adaptive sync.</summary>
    public int AdaptiveValidationSamples { get; init; } = 1000;

    /// <summary>Also train each node alone on its own data (the local-only baseline).</summary>
    public bool LocalBaseline { get; init; }

    /// <summary>Where the nodes keep their models (a temporary directory when null).</summary>
    public string? Directory { get; init; }

    /// <summary>Returns every problem; empty when fine.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Nodes is < 1 or > 64)
        {
            errors.Add($"--nodes must be from 1 to 64, not {Nodes}");
        }

        if (!OptimizerKinds.Names.Contains(Optimizer, StringComparer.Ordinal))
        {
            errors.Add($"--optimizer must be one of {string.Join(", ", OptimizerKinds.Names)}, not '{Optimizer}'");
        }

        if (Epochs is < 1 or > 1000)
        {
            errors.Add($"--epochs must be from 1 to 1000, not {Epochs}");
        }

        if (SyncFrequency < 1)
        {
            errors.Add($"--sync-frequency must be at least 1, not {SyncFrequency}");
        }

        if (MinPeers < 0 || MinPeers > Nodes)
        {
            errors.Add($"--min-peers must be from 1 to the number of nodes ({Nodes}), not {MinPeers}");
        }

        if (!Merging.MergeMomentum.IsValid(MergeMomentum))
        {
            errors.Add($"--merge-momentum must be at least 0 and below 1, not {MergeMomentum}");
        }

        if (BatchSize < 1)
        {
            errors.Add($"--batch-size must be at least 1, not {BatchSize}");
        }

        if (Attack != SimulatedAttack.None && (Attackers < 1 || Attackers >= Nodes))
        {
            errors.Add($"--attackers must be from 1 to {Nodes - 1} (at least one node stays honest), not {Attackers}");
        }

        if (!double.IsFinite(AttackScale))
        {
            errors.Add($"--attack-scale must be a finite number, not {AttackScale}");
        }

        return errors;
    }
}

/// <summary>Where a virtual node is, for progress displays.</summary>
/// <param name="Node">Its name.</param>
/// <param name="Epoch">Epochs done.</param>
/// <param name="Epochs">Epochs in all.</param>
/// <param name="Round">The last round it synced in.</param>
/// <param name="Accuracy">Its model's test accuracy after its last epoch (NaN before).</param>
public readonly record struct SimulationProgress(string Node, int Epoch, int Epochs, long Round, double Accuracy);

/// <summary>One node's outcome.</summary>
public sealed record SimulationNodeResult(string Name, int Samples, IReadOnlyList<int> Histogram, double SwarmAccuracy, double SwarmMacroF1, double? LocalAccuracy, double? LocalMacroF1, string FinalModelHash, int Syncs, bool Attacker);

/// <summary>
/// A simulation's outcome. <see cref="SwarmLoss"/> is null and <see cref="Diverged"/> true when the final model's test
/// loss is not finite (its weights overflowed: a poisoned plain mean, say); that is a result, not an error.
/// </summary>
public sealed record SimulationResult(
    SimulationOptions Options,
    IReadOnlyList<SimulationNodeResult> Nodes,
    long Rounds,
    double SwarmAccuracy,
    double SwarmMacroF1,
    double? SwarmLoss,
    bool Diverged,
    IReadOnlyList<double> SwarmAccuracyByEpoch,
    double Seconds);

/// <summary>
/// Runs <c>swarm simulate</c>: splits the data, starts a <see cref="SimulatedSwarm"/>, trains every virtual node on its
/// own thread with the real round engine, evaluates the final model (the same on every node) on the test set, and
/// optionally trains each node alone for the local-only baseline.
/// </summary>
public static class SimulationRunner
{
    /// <summary>Runs the simulation.</summary>
    public static async Task<SimulationResult> RunAsync(SimulationOptions options, IProgress<SimulationProgress>? progress, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggers);
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new SwarmException(string.Join("; ", errors));
        }

        var started = Stopwatch.GetTimestamp();
        var data = DataDirectory.Load(DataDirectory.ResolvePath(options.Data));
        var train = options.Limit > 0 && options.Limit < data.Train.Count ? data.Train.Subset([.. Enumerable.Range(0, options.Limit)]) : data.Train;
        var partition = Partitioner.Partition(train.Labels, train.ClassCount, options.Nodes, new PartitionOptions { Method = options.Split, Alpha = options.Alpha, Seed = options.Seed });
        var parts = partition.Nodes.Select(indices => train.Subset(indices)).ToList();

        var directory = options.Directory ?? Path.Combine(Path.GetTempPath(), "swarm-simulate-" + Guid.NewGuid().ToString("N"));
        var threads = Parallelism.MaxThreads;
        Parallelism.MaxThreads = 1; // every node trains on one core: the nodes are the parallelism
        try
        {
            var swarm = await SimulatedSwarm.CreateAsync(directory, new LedgerDefaults(), loggers: loggers).ConfigureAwait(false);
            await using var disposeSwarm = swarm.ConfigureAwait(false);
            var nodes = new List<SimulatedNode>();
            for (var i = 0; i < options.Nodes; i++)
            {
                nodes.Add(await swarm.AddNodeAsync($"node{i + 1}", cancellationToken).ConfigureAwait(false));
            }

            var byEpoch = new double[options.Epochs];
            var runs = nodes.Select((node, i) => Task.Factory.StartNew(
                () => TrainNode(node, i, parts[i], data.Test, options, byEpoch, progress, loggers, cancellationToken),
                cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToList();
            var outcomes = await Task.WhenAll(runs).ConfigureAwait(false);

            var final = outcomes[0].Final;
            var evaluation = Trainer.Evaluate(Load(options, data.Test, final.Model), data.Test, cancellationToken: cancellationToken);
            var locals = options.LocalBaseline ? TrainLocals(parts, data.Test, options, cancellationToken) : null;
            var results = nodes.Select((node, i) => new SimulationNodeResult(
                node.Name,
                parts[i].Count,
                partition.Histograms[i],
                evaluation.Accuracy,
                evaluation.MacroF1,
                locals?[i].Accuracy,
                locals?[i].MacroF1,
                outcomes[i].Final.Hash,
                outcomes[i].Syncs,
                IsAttacker(options, i))).ToList();
            return new SimulationResult(options, results, final.Round, evaluation.Accuracy, evaluation.MacroF1,
                double.IsFinite(evaluation.Loss) ? evaluation.Loss : null, !double.IsFinite(evaluation.Loss), byEpoch, Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
        finally
        {
            Parallelism.MaxThreads = threads;
            if (options.Directory is null)
            {
                try
                {
                    System.IO.Directory.Delete(directory, recursive: true);
                }
                catch (IOException)
                {
                }
            }
        }
    }

    private static bool IsAttacker(SimulationOptions options, int index) =>
        options.Attack != SimulatedAttack.None && index >= options.Nodes - options.Attackers;

    private static (SyncResult Final, int Syncs) TrainNode(SimulatedNode node, int index, Dataset data, Dataset test, SimulationOptions options, double[] byEpoch, IProgress<SimulationProgress>? progress, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var network = Architectures.Create(options.Model, data.Shape, data.ClassCount, options.Seed + (ulong)index);
        var session = new SwarmSession(node, node, new SessionOptions
        {
            SyncFrequency = options.SyncFrequency,
            MinPeers = options.MinPeers == 0 ? options.Nodes : options.MinPeers,
            MergeMethod = options.MergeMethod,
            TrimFraction = options.TrimFraction,
            KrumSelect = options.KrumSelect,
            MergeMomentum = options.MergeMomentum,
            TotalEpochs = options.Epochs,
            UseAdaptiveSync = options.UseAdaptiveSync,
        }, loggers.CreateLogger(node.Name));
        var validation = options.UseAdaptiveSync
            ? data.Subset([.. Enumerable.Range(0, data.Count).Where(k => k % 10 == 0).Take(options.AdaptiveValidationSamples)])
            : null;
        var callback = new ProgressCallback(new SessionTrainingCallback(session, validation, cancellationToken)
        {
            Poison = IsAttacker(options, index) ? SimulatedAttacks.Create(options.Attack, options.AttackScale, options.Seed + (ulong)index) : null,
        }, node.Name, options.Epochs, index == 0 ? test : null, byEpoch, progress, cancellationToken);
        var trainer = new Trainer(network, OptimizerKinds.Create(options.Optimizer, options.LearningRate), options.BatchSize, options.Seed + (ulong)index) { Schedule = options.Schedule };
        trainer.Fit(data, options.Epochs, callback, cancellationToken);
        var inner = callback.Inner;
        return (inner.Last ?? throw new SwarmException($"{node.Name} finished without a final model"), inner.Syncs);
    }

    private static Training.Network Load(SimulationOptions options, Dataset test, Tensors.TensorModel model)
    {
        var network = Architectures.Create(options.Model, test.Shape, test.ClassCount, options.Seed);
        network.Load(model);
        return network;
    }

    private static Training.Evaluation.EvaluationResult[] TrainLocals(List<Dataset> parts, Dataset test, SimulationOptions options, CancellationToken cancellationToken)
    {
        var results = new Training.Evaluation.EvaluationResult[parts.Count];
        Parallel.For(0, parts.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = cancellationToken }, i =>
        {
            var network = Architectures.Create(options.Model, parts[i].Shape, parts[i].ClassCount, options.Seed + (ulong)i);
            var trainer = new Trainer(network, OptimizerKinds.Create(options.Optimizer, options.LearningRate), options.BatchSize, options.Seed + (ulong)i) { Schedule = options.Schedule };
            trainer.Fit(parts[i], options.Epochs, null, cancellationToken);
            results[i] = trainer.Evaluate(test, cancellationToken: cancellationToken);
        });
        return results;
    }

    /// <summary>Reports progress and, for the first node, the test accuracy of its model at each epoch's end.</summary>
    private sealed class ProgressCallback(SessionTrainingCallback inner, string name, int epochs, Dataset? test, double[] byEpoch, IProgress<SimulationProgress>? progress, CancellationToken cancellationToken) : TrainingCallback
    {
        private int _epoch;

        public SessionTrainingCallback Inner => inner;

        public override void OnTrainBegin(Trainer trainer)
        {
            inner.OnTrainBegin(trainer);
            progress?.Report(new SimulationProgress(name, 0, epochs, inner.Last?.Round ?? 0, double.NaN));
        }

        public override void OnBatchEnd(Trainer trainer, BatchProgress batch) => inner.OnBatchEnd(trainer, batch);

        public override void OnEpochEnd(Trainer trainer, EpochResult epoch)
        {
            inner.OnEpochEnd(trainer, epoch);
            _epoch++;
            var accuracy = double.NaN;
            if (test is not null)
            {
                accuracy = trainer.Evaluate(test, cancellationToken: cancellationToken).Accuracy;
                byEpoch[_epoch - 1] = accuracy;
            }

            progress?.Report(new SimulationProgress(name, _epoch, epochs, inner.Last?.Round ?? 0, accuracy));
        }

        public override void OnTrainEnd(Trainer trainer) => inner.OnTrainEnd(trainer);
    }
}
