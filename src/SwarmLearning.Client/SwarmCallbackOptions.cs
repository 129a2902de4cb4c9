using System.Globalization;

namespace SwarmLearning.Client;

/// <summary>
/// The parameters of a <see cref="SwarmCallback"/>, with HPE's names, defaults and checks (HPE's
/// <c>SwarmCallback(syncFrequency, minPeers, trainingContract, **kwargs)</c>). <see cref="Validate"/> gives HPE's
/// messages; the callback's constructor throws them.
/// </summary>
public sealed record SwarmCallbackOptions
{
    /// <summary>HPE's default training contract.</summary>
    public const string DefaultTrainingContract = "defaultbb.cqdb.sml.hpe";

    /// <summary>The environment variable naming the SL node's socket.</summary>
    public const string SocketVariable = "SWARM_SL_SOCKET";

    /// <summary>The environment variable that turns loopback mode on (<c>1</c> or <c>true</c>).</summary>
    public const string LoopbackVariable = "SWARM_LOOPBACK";

    /// <summary>The values of <see cref="CheckinModelOnTrainEnd"/>, in HPE's order.</summary>
    public static IReadOnlyList<string> CheckinModes { get; } = ["inactive", "active", "snapshot"];

    /// <summary>The values of <see cref="MergeMethod"/>: HPE's three, then the robust ones SwarmLearning adds.</summary>
    public static IReadOnlyList<string> MergeMethods { get; } = ["mean", "coordmedian", "geomedian", "trimmedmean", "krum"];

    /// <summary>Local batches between two sync rounds (the first interval, when adaptive sync is on). Required, &gt; 0.</summary>
    public required int SyncFrequency { get; init; }

    /// <summary>The fewest nodes a sync round may merge; with fewer ready, the round waits. Required, &gt; 0.</summary>
    public required int MinPeers { get; init; }

    /// <summary>The training contract this program trains under; HPE's default <c>defaultbb.cqdb.sml.hpe</c>.</summary>
    public string? TrainingContract { get; init; } = DefaultTrainingContract;

    /// <summary>Let the SL node change the sync interval from the validation loss; needs <see cref="AdsValData"/>.</summary>
    public bool UseAdaptiveSync { get; init; }

    /// <summary>
    /// Evaluates the current model on validation data and returns its loss (lower is better) and a metric (accuracy,
    /// F1, …). Called after every merge, for adaptive sync and for the progress shown on the ledger; without it, loss
    /// and metric are reported as 0 (as HPE does).
    /// </summary>
    public Func<(double Loss, double Metric)>? AdsValData { get; init; }

    /// <summary>What this node contributes after its training ends: <c>snapshot</c> (default), <c>active</c> or <c>inactive</c>.</summary>
    public string CheckinModelOnTrainEnd { get; init; } = "snapshot";

    /// <summary>This node's weight in merges, 1–100.</summary>
    public int NodeWeightage { get; init; } = 1;

    /// <summary>How rounds this node leads are merged: <c>mean</c> (default), <c>coordmedian</c>, <c>geomedian</c>, <c>trimmedmean</c>, <c>krum</c>; any case.</summary>
    public string MergeMethod { get; init; } = "mean";

    /// <summary>
    /// Merge momentum β in [0, 1) for the rounds this node leads: it publishes its merge plus β times the step between
    /// the last two merged models (FedAvgM's server momentum; docs/merge-methods.md). 0, the default, merges as HPE.
    /// </summary>
    public double MergeMomentum { get; init; }

    /// <summary>Epochs this program will train, for progress and ETA; null or 0 when unknown (a warning is logged).</summary>
    public int? TotalEpochs { get; init; }

    /// <summary>The SL node's socket; null takes <c>SWARM_SL_SOCKET</c>.</summary>
    public string? SlSocket { get; init; }

    /// <summary>Loopback mode (no swarm, no SL node); null takes <c>SWARM_LOOPBACK</c>.</summary>
    public bool? Loopback { get; init; }

    /// <summary>How long the initial sync and every sync may wait for the SL node (it waits for minPeers peers). Default 1 hour.</summary>
    public TimeSpan SyncTimeout { get; init; } = TimeSpan.FromHours(1);

    /// <summary>How long any other call except the final one may take. Default 2 minutes; the final merge has no limit.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>How often a call that is still waiting for the SL node logs that it does. Default 30 s.</summary>
    public TimeSpan WaitLogInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>True when loopback mode is on, from <see cref="Loopback"/> or else <c>SWARM_LOOPBACK</c>.</summary>
    public bool IsLoopback => Loopback ?? IsTrue(Environment.GetEnvironmentVariable(LoopbackVariable));

    /// <summary>The socket to use: <see cref="SlSocket"/>, else <c>SWARM_SL_SOCKET</c>, else null.</summary>
    public string? ResolveSocket() =>
        !string.IsNullOrWhiteSpace(SlSocket) ? SlSocket
        : Environment.GetEnvironmentVariable(SocketVariable) is { Length: > 0 } fromEnvironment ? fromEnvironment
        : null;

    /// <summary>Every problem, in HPE's words; empty when the options are fine.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (SyncFrequency <= 0)
        {
            errors.Add(Invariant($"syncFrequency has to be a positive integer. Provided value: {SyncFrequency}"));
        }

        if (MinPeers <= 0)
        {
            errors.Add(Invariant($"minPeers have to be a positive integer. Provided value: {MinPeers}"));
        }

        if (string.IsNullOrWhiteSpace(TrainingContract))
        {
            errors.Add($"Invalid Training Contract: it is empty. Leave it out for HPE's default {DefaultTrainingContract}");
        }

        if (!CheckinModes.Contains(CheckinModelOnTrainEnd, StringComparer.Ordinal))
        {
            errors.Add($"Invalid value checkinModelOnTrainEnd: {CheckinModelOnTrainEnd}. Allowed values: {PythonList(CheckinModes)}");
        }

        if (NormalizedMergeMethod is null)
        {
            errors.Add($"Invalid value mergeMethod: {MergeMethod?.ToLowerInvariant()}. Allowed values: {PythonList(MergeMethods)}");
        }

        if (!Merging.MergeMomentum.IsValid(MergeMomentum))
        {
            errors.Add(Invariant($"mergeMomentum has to be at least 0 and below 1. Provided value: {MergeMomentum}"));
        }

        if (NodeWeightage is < 1 or > 100)
        {
            errors.Add(Invariant($"Node weightage should be a number between 1-100. Provided value: {NodeWeightage}"));
        }

        if (UseAdaptiveSync && AdsValData is null)
        {
            errors.Add("For adaptive sync, valid adsValData is mandatory");
        }

        if (TotalEpochs < 0)
        {
            errors.Add(Invariant($"totalEpochs has to be a positive integer (or left out when unknown). Provided value: {TotalEpochs}"));
        }

        if (SyncTimeout <= TimeSpan.Zero || RequestTimeout <= TimeSpan.Zero || WaitLogInterval <= TimeSpan.Zero)
        {
            errors.Add("SyncTimeout, RequestTimeout and WaitLogInterval have to be positive");
        }

        return errors;
    }

    /// <summary>Throws a <see cref="SwarmException"/> with every problem (one problem: HPE's message as it is).</summary>
    public void ThrowIfInvalid()
    {
        var errors = Validate();
        if (errors.Count > 0)
        {
            throw new SwarmException(string.Join("; ", errors));
        }
    }

    /// <summary>The merge method in lowercase, or null when it is not one of <see cref="MergeMethods"/>.</summary>
    internal string? NormalizedMergeMethod =>
        MergeMethod?.Trim().ToLowerInvariant() is { } name && MergeMethods.Contains(name, StringComparer.Ordinal) ? name : null;

    internal static bool IsTrue(string? value) =>
        value?.Trim().ToLowerInvariant() is "1" or "true" or "yes" or "on";

    private static string PythonList(IEnumerable<string> values) => "[" + string.Join(", ", values.Select(v => $"'{v}'")) + "]";

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
