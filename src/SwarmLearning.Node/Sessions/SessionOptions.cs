using SwarmLearning.Ledger.Transactions;
using SwarmLearning.Merging;

namespace SwarmLearning.Node.Sessions;

/// <summary>What a node does with its model when its local training ends (HPE's <c>checkinModelOnTrainEnd</c>).</summary>
public enum CheckinMode
{
    /// <summary>It contributes the weights it had when it stopped, in every later round (HPE's default).</summary>
    Snapshot,

    /// <summary>It contributes the latest merged weights, with no more local training.</summary>
    Active,

    /// <summary>It stays a participant but contributes nothing (weight 0).</summary>
    Inactive,
}

/// <summary>
/// An ML program's swarm parameters, with HPE's names and defaults. <see cref="Validate"/> gives HPE's checks with
/// messages that name the parameter.
/// </summary>
public sealed record SessionOptions
{
    /// <summary>Local batches between two sync rounds (the first interval, when adaptive sync is on). Required, &gt; 0.</summary>
    public int SyncFrequency { get; init; }

    /// <summary>The fewest nodes a round may merge. Required, &gt; 0.</summary>
    public int MinPeers { get; init; }

    /// <summary>The training contract; HPE's default.</summary>
    public string TrainingContract { get; init; } = LedgerDefaults.HpeDefaultContract;

    /// <summary>Let the node change its sync interval from the validation loss (see docs/protocol.md).</summary>
    public bool UseAdaptiveSync { get; init; }

    /// <summary>What the node contributes after its training ends.</summary>
    public CheckinMode CheckinModelOnTrainEnd { get; init; } = CheckinMode.Snapshot;

    /// <summary>The node's weight in merges, 1–100.</summary>
    public int NodeWeightage { get; init; } = 1;

    /// <summary>How this node merges when it leads a round.</summary>
    public MergeMethod MergeMethod { get; init; } = MergeMethod.Mean;

    /// <summary>
    /// <c>trimmedmean</c>: the fraction β of the models trimmed from each end, in [0, 0.5); ⌊β n⌋ per side, so the
    /// default 0.1 trims nothing below 10 models (docs/merge-methods.md).
    /// </summary>
    public double TrimFraction { get; init; } = 0.1;

    /// <summary>
    /// <c>krum</c>: how many of the lowest-scored models the leader averages (multi-Krum). Null: n − f, every model
    /// but the f that Krum tolerates (f = ⌊(n − 3)/2⌋), so a round merges as many honest models as it safely can;
    /// 1 is plain Krum, which keeps one model per round.
    /// </summary>
    public int? KrumSelect { get; init; }

    /// <summary>
    /// Merge momentum β in [0, 1), when this node leads a round (docs/merge-methods.md#merge-momentum): the model it
    /// publishes is the merge of the submissions plus β times the step between the contract's last two merged models,
    /// as server momentum does in federated averaging (FedAvgM). 0, the default, publishes the merge as it is (HPE).
    /// </summary>
    public double MergeMomentum { get; init; }

    /// <summary>Epochs the ML program will train, for progress and ETA (0: unknown).</summary>
    public int TotalEpochs { get; init; }

    /// <summary>False keeps this node out of every round's leader order (HPE's <c>SL_MAKE_ME_ADMIN</c>).</summary>
    public bool MakeMeAdmin { get; init; } = true;

    /// <summary>Returns every problem, each naming the parameter; empty when the options are fine.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (SyncFrequency <= 0)
        {
            errors.Add($"syncFrequency must be an integer greater than 0, not {SyncFrequency}");
        }

        if (MinPeers <= 0)
        {
            errors.Add($"minPeers must be an integer greater than 0, not {MinPeers}");
        }

        if (string.IsNullOrWhiteSpace(TrainingContract))
        {
            errors.Add("trainingContract must name a training contract (HPE's default is defaultbb.cqdb.sml.hpe)");
        }

        if (NodeWeightage is < 1 or > 100)
        {
            errors.Add($"nodeWeightage must be an integer from 1 to 100, not {NodeWeightage}");
        }

        if (!(TrimFraction is >= 0 and < 0.5))
        {
            errors.Add($"the trimmed mean's fraction must be at least 0 and below 0.5, not {TrimFraction}");
        }

        if (!Merging.MergeMomentum.IsValid(MergeMomentum))
        {
            errors.Add($"mergeMomentum must be at least 0 and below 1, not {MergeMomentum}");
        }

        if (KrumSelect is < 1)
        {
            errors.Add($"krum's selection must be at least 1 model, not {KrumSelect}");
        }

        if (TotalEpochs < 0)
        {
            errors.Add($"totalEpochs must be 0 (unknown) or more, not {TotalEpochs}");
        }

        if (!Enum.IsDefined(CheckinModelOnTrainEnd))
        {
            errors.Add($"checkinModelOnTrainEnd must be snapshot, active or inactive, not {CheckinModelOnTrainEnd}");
        }

        return errors;
    }

    /// <summary>Throws a <see cref="SwarmException"/> listing every problem.</summary>
    public void ThrowIfInvalid()
    {
        var errors = Validate();
        if (errors.Count > 0)
        {
            throw new SwarmException("invalid swarm parameters: " + string.Join("; ", errors));
        }
    }
}
