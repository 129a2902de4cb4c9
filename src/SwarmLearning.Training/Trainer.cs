using System.Diagnostics;
using SwarmLearning.Training.Data;
using SwarmLearning.Training.Evaluation;
using SwarmLearning.Training.Optimizers;

namespace SwarmLearning.Training;

/// <summary>Where training is: after a batch, what it has done in this epoch so far.</summary>
/// <param name="Epoch">The epoch, from 1.</param>
/// <param name="Epochs">Epochs in this run.</param>
/// <param name="Batch">Batches done in this epoch.</param>
/// <param name="Batches">Batches in an epoch.</param>
/// <param name="Samples">Samples done in this epoch.</param>
/// <param name="BatchLoss">Mean loss of the batch just done.</param>
/// <param name="MeanLoss">Mean loss over this epoch's batches so far.</param>
/// <param name="SamplesPerSecond">Training speed over this epoch so far.</param>
public sealed record BatchProgress(int Epoch, int Epochs, int Batch, int Batches, long Samples, double BatchLoss, double MeanLoss, double SamplesPerSecond);

/// <summary>What one epoch did.</summary>
/// <param name="Epoch">The epoch, from 1.</param>
/// <param name="Loss">Mean training loss over its batches (with dropout on).</param>
/// <param name="Samples">Samples trained on.</param>
/// <param name="Elapsed">Wall time.</param>
public sealed record EpochResult(int Epoch, double Loss, long Samples, TimeSpan Elapsed)
{
    /// <summary>Training speed.</summary>
    public double SamplesPerSecond => Samples / Math.Max(Elapsed.TotalSeconds, 1e-9);
}

/// <summary>How the learning rate moves over a run.</summary>
public enum LearningRateSchedule
{
    /// <summary>The optimizer's learning rate throughout.</summary>
    Constant,

    /// <summary>
    /// Cosine annealing: from the optimizer's learning rate at the first step down to 0 at the last step of the run,
    /// lr(t) = lr₀ · ½ · (1 + cos(π · t / T)), with t the step and T the run's steps.
    /// </summary>
    Cosine,

    /// <summary>
    /// A step down at the end: the optimizer's learning rate for the first nine tenths of the run's steps, a tenth of
    /// it for the last tenth (the last epoch of ten).
    /// </summary>
    FinalStep,
}

/// <summary>
/// Hooks into a training run, named after HPE's SwarmCallback hooks; the swarm's callback is one of these. Every
/// method does nothing unless overridden.
/// </summary>
public abstract class TrainingCallback
{
    /// <summary>Before the first batch.</summary>
    public virtual void OnTrainBegin(Trainer trainer)
    {
    }

    /// <summary>After each optimizer step.</summary>
    public virtual void OnBatchEnd(Trainer trainer, BatchProgress progress)
    {
    }

    /// <summary>After each epoch.</summary>
    public virtual void OnEpochEnd(Trainer trainer, EpochResult epoch)
    {
    }

    /// <summary>After the last epoch.</summary>
    public virtual void OnTrainEnd(Trainer trainer)
    {
    }
}

/// <summary>
/// Trains a <see cref="Network"/> with mini-batches and an <see cref="Optimizer"/>. Given the same seed, data,
/// network and options, it produces the same weights bit for bit, whatever the number of cores: shuffles and
/// dropout masks come from the seed, and every parallel kernel sums in a fixed order.
/// </summary>
public sealed class Trainer
{
    private float[] _batchFeatures = [];
    private int[] _batchLabels = [];
    private float[] _lossGradient = [];

    /// <summary>Creates a trainer.</summary>
    /// <param name="network">The network to train (updated in place).</param>
    /// <param name="optimizer">How to step.</param>
    /// <param name="batchSize">Samples per step; the last batch of an epoch may be smaller.</param>
    /// <param name="seed">Seeds the per-epoch shuffles.</param>
    public Trainer(Network network, Optimizer optimizer, int batchSize = 64, ulong seed = 42)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        Network = network;
        Optimizer = optimizer;
        BatchSize = batchSize;
        Seed = seed;
        BaseLearningRate = optimizer.LearningRate;
    }

    /// <summary>How the learning rate moves over the run; <see cref="LearningRateSchedule.Constant"/> by default.</summary>
    public LearningRateSchedule Schedule { get; init; }

    /// <summary>The optimizer's learning rate when the trainer was made: where a schedule starts.</summary>
    public float BaseLearningRate { get; }

    /// <summary>The network being trained.</summary>
    public Network Network { get; }

    /// <summary>The optimizer.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>Samples per step.</summary>
    public int BatchSize { get; }

    /// <summary>Seeds the per-epoch shuffles.</summary>
    public ulong Seed { get; }

    /// <summary>Epochs completed by this trainer.</summary>
    public int EpochsDone { get; private set; }

    /// <summary>Runs <paramref name="epochs"/> epochs over <paramref name="data"/>, calling <paramref name="callback"/>'s hooks.</summary>
    public IReadOnlyList<EpochResult> Fit(Dataset data, int epochs, TrainingCallback? callback = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epochs);
        CheckShape(data);
        callback?.OnTrainBegin(this);
        var results = new List<EpochResult>(epochs);
        for (var e = 0; e < epochs; e++)
        {
            var result = TrainEpoch(data, e + 1, epochs, callback, cancellationToken);
            results.Add(result);
            callback?.OnEpochEnd(this, result);
        }

        callback?.OnTrainEnd(this);
        return results;
    }

    /// <summary>One pass over <paramref name="data"/> in a shuffled order drawn from the seed and the epoch number.</summary>
    public EpochResult TrainEpoch(Dataset data, int epoch, int epochs, TrainingCallback? callback = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        CheckShape(data);
        var order = new int[data.Count];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        Xoshiro256StarStar.For(Seed, "shuffle", epoch).Shuffle(order.AsSpan());
        var batches = (data.Count + BatchSize - 1) / BatchSize;
        var clock = Stopwatch.StartNew();
        var lossSum = 0.0;
        long samples = 0;
        for (var b = 0; b < batches; b++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var indices = order.AsSpan(b * BatchSize, Math.Min(BatchSize, data.Count - (b * BatchSize)));
            if (Schedule != LearningRateSchedule.Constant)
            {
                var t = ((double)(epoch - 1) * batches) + b;
                var total = (double)Math.Max(epochs, epoch) * batches;
                Optimizer.LearningRate = Schedule == LearningRateSchedule.Cosine
                    ? (float)(BaseLearningRate * 0.5 * (1 + Math.Cos(Math.PI * t / total)))
                    : (float)(t >= 0.9 * total ? BaseLearningRate / 10 : BaseLearningRate);
            }

            var loss = Step(data, indices);
            if (!double.IsFinite(loss))
            {
                throw new SwarmException($"Training diverged: the loss of epoch {epoch}, batch {b + 1} is {loss}. Lower the learning rate.");
            }

            lossSum += loss;
            samples += indices.Length;
            callback?.OnBatchEnd(this, new BatchProgress(epoch, epochs, b + 1, batches, samples, loss, lossSum / (b + 1), samples / Math.Max(clock.Elapsed.TotalSeconds, 1e-9)));
        }

        EpochsDone++;
        return new EpochResult(epoch, batches == 0 ? 0 : lossSum / batches, samples, clock.Elapsed);
    }

    /// <summary>Forward and backward over the samples at <paramref name="indices"/>, then one optimizer step; returns the batch's mean loss.</summary>
    internal double Step(Dataset data, ReadOnlySpan<int> indices)
    {
        var batch = indices.Length;
        var features = Gather(data, indices);
        var logits = Network.Forward(features, batch, training: true);
        var classes = Network.ClassCount;
        if (_lossGradient.Length < batch * classes)
        {
            _lossGradient = new float[batch * classes];
        }

        var loss = SoftmaxCrossEntropy.Compute(logits.AsSpan(0, batch * classes), _batchLabels.AsSpan(0, batch), batch, classes, _lossGradient.AsSpan(0, batch * classes));
        Network.Backward(_lossGradient, batch);
        Optimizer.Step(Network.Parameters);
        return loss;
    }

    /// <summary>Loss, accuracy, macro-F1 and confusion matrix of the network on <paramref name="data"/> (dropout off).</summary>
    public EvaluationResult Evaluate(Dataset data, int batchSize = 256, CancellationToken cancellationToken = default) =>
        Evaluate(Network, data, batchSize, cancellationToken);

    /// <summary>Loss, accuracy, macro-F1 and confusion matrix of <paramref name="network"/> on <paramref name="data"/> (dropout off).</summary>
    public static EvaluationResult Evaluate(Network network, Dataset data, int batchSize = 256, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        CheckShape(network, data);
        var classes = network.ClassCount;
        var confusion = new long[classes, classes];
        var lossSum = 0.0;
        for (var start = 0; start < data.Count; start += batchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var batch = Math.Min(batchSize, data.Count - start);
            var features = data.Features.AsSpan(start * data.FeatureCount, batch * data.FeatureCount).ToArray();
            var logits = network.Forward(features, batch, training: false);
            var labels = data.Labels.AsSpan(start, batch);
            lossSum += SoftmaxCrossEntropy.Compute(logits.AsSpan(0, batch * classes), labels, batch, classes) * batch;
            for (var i = 0; i < batch; i++)
            {
                var predicted = System.Numerics.Tensors.TensorPrimitives.IndexOfMax(logits.AsSpan(i * classes, classes));
                confusion[labels[i], predicted]++;
            }
        }

        return new EvaluationResult(data.Count == 0 ? 0 : lossSum / data.Count, confusion);
    }

    private float[] Gather(Dataset data, ReadOnlySpan<int> indices)
    {
        var width = data.FeatureCount;
        if (_batchFeatures.Length < indices.Length * width)
        {
            _batchFeatures = new float[BatchSize * width];
            _batchLabels = new int[BatchSize];
        }

        for (var i = 0; i < indices.Length; i++)
        {
            data.Sample(indices[i]).CopyTo(_batchFeatures.AsSpan(i * width, width));
            _batchLabels[i] = data.Labels[indices[i]];
        }

        return _batchFeatures;
    }

    private void CheckShape(Dataset data) => CheckShape(Network, data);

    private static void CheckShape(Network network, Dataset data)
    {
        if (data.Shape != network.InputShape)
        {
            throw new SwarmException($"The data in {data.Source} has samples of {data.Shape}, but the model takes {network.InputShape}.");
        }

        if (data.ClassCount > network.ClassCount)
        {
            throw new SwarmException($"The data in {data.Source} has {data.ClassCount} classes, but the model predicts {network.ClassCount}.");
        }
    }
}
