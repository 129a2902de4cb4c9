using SwarmLearning.Node.Rounds;
using SwarmLearning.Tensors;
using SwarmLearning.Training;
using SwarmLearning.Training.Data;

namespace SwarmLearning.Node.Simulation;

/// <summary>
/// Connects a <see cref="Trainer"/> straight to a <see cref="SwarmSession"/> in the same process (the simulation's
/// virtual nodes): the initial sync before the first batch, a sync every <see cref="SwarmSession.SyncInterval"/>
/// batches (HPE: the first after syncFrequency batches), progress after each epoch, and the final merge at the end.
/// The network's weights go out as a zero-copy model and come back through <see cref="Training.Network.Load"/>.
/// </summary>
internal sealed class SessionTrainingCallback(SwarmSession session, Dataset? validation, CancellationToken cancellationToken) : TrainingCallback
{
    /// <summary>A malicious node's poisoning of the weights it sends at syncs and at the end (null: honest).</summary>
    public Func<TensorModel, TensorModel>? Poison { get; init; }

    private int _batchesSinceSync;
    private int _epochs;

    /// <summary>The last sync's result (the final one after training).</summary>
    public SyncResult? Last { get; private set; }

    /// <summary>Rounds this node took part in or caught up with.</summary>
    public int Syncs { get; private set; }

    public override void OnTrainBegin(Trainer trainer)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        Apply(trainer, Wait(session.BeginAsync(trainer.Network.ToModel(), cancellationToken)));
    }

    public override void OnBatchEnd(Trainer trainer, BatchProgress progress)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        if (++_batchesSinceSync < session.SyncInterval)
        {
            return;
        }

        _batchesSinceSync = 0;
        Apply(trainer, Wait(session.SyncAsync(Outgoing(trainer), cancellationToken)));
        if (session.Options.UseAdaptiveSync && validation is not null && Last is { TrainingOver: false })
        {
            // As SwarmCallback does with adsValData: measure the merged model, and the session sets the next interval.
            Wait(session.ReportProgressAsync(Measure(trainer, validation, 0), cancellationToken));
        }
    }

    public override void OnEpochEnd(Trainer trainer, EpochResult epoch)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        ArgumentNullException.ThrowIfNull(epoch);
        _epochs++;
        if (session.Options.UseAdaptiveSync)
        {
            return; // every report is a measurement for the interval rule; the epoch count travels with the next one
        }

        Wait(session.ReportProgressAsync(validation is null
            ? new TrainingProgress(epoch.Loss, 0, _epochs, session.Options.TotalEpochs)
            : Measure(trainer, validation, epoch.Loss), cancellationToken));
    }

    private TrainingProgress Measure(Trainer trainer, Dataset validation, double fallbackLoss)
    {
        var evaluation = trainer.Evaluate(validation, cancellationToken: cancellationToken);
        return new TrainingProgress(double.IsFinite(evaluation.Loss) ? evaluation.Loss : fallbackLoss, evaluation.Accuracy, _epochs, session.Options.TotalEpochs);
    }

    public override void OnTrainEnd(Trainer trainer)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        Apply(trainer, Wait(session.EndAsync(Outgoing(trainer), cancellationToken)));
    }

    private TensorModel Outgoing(Trainer trainer) => Poison is { } poison ? poison(trainer.Network.ToModel()) : trainer.Network.ToModel();

    private void Apply(Trainer trainer, SyncResult result)
    {
        trainer.Network.Load(result.Model);
        Last = result;
        Syncs++;
    }

    // Training callbacks are synchronous; each virtual node trains on a thread of its own, so blocking here is what a
    // real ML program does while its SL node runs the round.
#pragma warning disable VSTHRD002
    private static T Wait<T>(Task<T> task) => task.GetAwaiter().GetResult();
#pragma warning restore VSTHRD002
}
