using Microsoft.Extensions.Logging;
using SwarmLearning.Client;
using SwarmLearning.Training.Data;

namespace SwarmLearning.Training.Swarm;

/// <summary>
/// Trains a <see cref="Network"/> as one node of a swarm: pass it to <see cref="Trainer.Fit"/> (or to
/// <see cref="Trainer.TrainEpoch"/> and call its epoch hooks) and the trainer's hooks drive a
/// <see cref="SwarmCallback"/>: the initial sync before the first batch, a sync every <c>syncFrequency</c> batches,
/// progress after each epoch, and the final merge after the last one, which leaves the final swarm model in the
/// network.
/// </summary>
public sealed class SwarmTrainingCallback : TrainingCallback, IAsyncDisposable, IDisposable
{
    private readonly bool _ownsSwarm;

    /// <summary>Forwards the trainer's hooks to <paramref name="swarm"/>, which the caller keeps and disposes.</summary>
    public SwarmTrainingCallback(SwarmCallback swarm)
    {
        ArgumentNullException.ThrowIfNull(swarm);
        Swarm = swarm;
    }

    /// <summary>
    /// Creates the <see cref="SwarmCallback"/> for <paramref name="network"/> with <paramref name="options"/>. With
    /// <paramref name="validation"/> data and no <see cref="SwarmCallbackOptions.AdsValData"/> of its own, loss and
    /// accuracy on that data are what the swarm sees (and what adaptive sync uses).
    /// </summary>
    public SwarmTrainingCallback(Network network, SwarmCallbackOptions options, Dataset? validation = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(options);
        if (validation is not null && options.AdsValData is null)
        {
            options = options with { AdsValData = Validation(network, validation) };
        }

        Swarm = new SwarmCallback(options, new NetworkModelAdapter(network), logger);
        _ownsSwarm = true;
    }

    /// <summary>The swarm callback the hooks go to.</summary>
    public SwarmCallback Swarm { get; }

    /// <summary>Cancels a hook that waits for the SL node (the trainer's hooks take no token of their own).</summary>
    public CancellationToken CancellationToken { get; init; }

    /// <summary>An <see cref="SwarmCallbackOptions.AdsValData"/> that evaluates <paramref name="network"/> on <paramref name="data"/>: (loss, accuracy).</summary>
    public static Func<(double Loss, double Metric)> Validation(Network network, Dataset data, int batchSize = 256)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(data);
        return () =>
        {
            var result = Trainer.Evaluate(network, data, batchSize);
            return (result.Loss, result.Accuracy);
        };
    }

    /// <inheritdoc/>
    public override void OnTrainBegin(Trainer trainer) => Swarm.OnTrainBegin(CancellationToken);

    /// <inheritdoc/>
    public override void OnBatchEnd(Trainer trainer, BatchProgress progress) => Swarm.OnBatchEnd(CancellationToken);

    /// <inheritdoc/>
    public override void OnEpochEnd(Trainer trainer, EpochResult epoch) => Swarm.OnEpochEnd(CancellationToken);

    /// <inheritdoc/>
    public override void OnTrainEnd(Trainer trainer) => Swarm.OnTrainEnd(CancellationToken);

    /// <summary>Disposes the swarm callback when this object created it.</summary>
    public ValueTask DisposeAsync() => _ownsSwarm ? Swarm.DisposeAsync() : ValueTask.CompletedTask;

    /// <inheritdoc cref="DisposeAsync"/>
    public void Dispose()
    {
        if (_ownsSwarm)
        {
            Swarm.Dispose();
        }
    }
}
