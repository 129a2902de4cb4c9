using SwarmLearning.Tensors;

namespace SwarmLearning.Node.Rounds;

/// <summary>What a sync gives back to the ML program.</summary>
/// <param name="Model">
/// The model to continue from: the round's merged model (or the latest one, for a node that was late). Read it before
/// the session's sync after next: an SL node receives later merged models into the arrays of those its store has let
/// go of (the store keeps a round's merged model and the one before). Copy the values to keep them longer.
/// </param>
/// <param name="Round">The round it came from (0 when there was no swarm, in loopback mode, or no merge yet).</param>
/// <param name="Hash">Its model hash as recorded on the ledger (empty when not merged).</param>
/// <param name="Contributed">True when this node's model went into it.</param>
/// <param name="TrainingOver">True when the training contract has completed: there will be no more rounds.</param>
public sealed record SyncResult(TensorModel Model, long Round, string Hash, bool Contributed, bool TrainingOver);

/// <summary>An ML node's progress, reported to the ledger for monitoring and used by adaptive sync.</summary>
/// <param name="Loss">Validation loss (lower is better).</param>
/// <param name="Metric">Validation metric (accuracy, F1, …).</param>
/// <param name="EpochsDone">Epochs done.</param>
/// <param name="TotalEpochs">Epochs in total (0: unknown).</param>
public sealed record TrainingProgress(double Loss, double Metric, int EpochsDone, int TotalEpochs);
