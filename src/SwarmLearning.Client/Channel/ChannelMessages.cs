using System.Text.Json;
using System.Text.Json.Serialization;
using SwarmLearning.Tensors;

namespace SwarmLearning.Client.Channel;

/// <summary>What <c>GET /v1/info</c> says about the SL node.</summary>
/// <param name="ApiVersion">The channel version it speaks (2).</param>
/// <param name="Node">Its name.</param>
/// <param name="Fingerprint">Its certificate's fingerprint (hex).</param>
/// <param name="Sn">The SN it talks to, e.g. <c>https://host:30304</c>.</param>
/// <param name="Session">The open session's id, or null.</param>
public sealed record SlNodeInfo(int ApiVersion, string Node, string Fingerprint, string Sn, string? Session);

/// <summary>The body of <c>POST /v1/sessions</c>: an ML program's swarm parameters with HPE's names.</summary>
/// <param name="SyncFrequency">Local batches between two sync rounds.</param>
/// <param name="MinPeers">The fewest nodes a round may merge.</param>
/// <param name="TrainingContract">The training contract.</param>
/// <param name="UseAdaptiveSync">Let the SL node change the interval from the validation loss.</param>
/// <param name="CheckinModelOnTrainEnd"><c>snapshot</c>, <c>active</c> or <c>inactive</c>.</param>
/// <param name="NodeWeightage">The node's weight in merges, 1–100.</param>
/// <param name="MergeMethod">The merge method, lowercase.</param>
/// <param name="TotalEpochs">Epochs to train (0: unknown).</param>
/// <param name="MergeMomentum">Merge momentum β in [0, 1) for the rounds this node leads (0: none, as HPE).</param>
/// <param name="ApiVersion">The channel version the program speaks.</param>
public sealed record SwarmSessionRequest(
    int SyncFrequency,
    int MinPeers,
    string TrainingContract,
    bool UseAdaptiveSync,
    string CheckinModelOnTrainEnd,
    int NodeWeightage,
    string MergeMethod,
    int TotalEpochs,
    double MergeMomentum = 0,
    int ApiVersion = SwarmChannelClient.ApiVersion);

/// <summary>The answer to <c>POST /v1/sessions</c>.</summary>
/// <param name="Session">The session's id, used in every later call.</param>
/// <param name="SyncInterval">Local batches until the first sync.</param>
public sealed record SwarmSessionOpened(string Session, int SyncInterval);

/// <summary>Progress reported with <c>POST /v1/sessions/{id}/progress</c>.</summary>
/// <param name="Loss">Validation loss (lower is better).</param>
/// <param name="Metric">Validation metric (accuracy, F1, …).</param>
/// <param name="EpochsDone">Epochs done.</param>
/// <param name="TotalEpochs">Epochs in total (0: unknown).</param>
public sealed record SwarmProgress(double Loss, double Metric, int EpochsDone, int TotalEpochs);

/// <summary>What begin, sync and end give back.</summary>
/// <param name="Model">The model to continue from: the merged one, or the final swarm model after end.</param>
/// <param name="Round">The round it came from (0: no merge yet, or loopback).</param>
/// <param name="ModelHash">Its model hash (BLAKE3, hex) as recorded on the ledger (empty when there was no merge).</param>
/// <param name="Contributed">True when this node's model went into it.</param>
/// <param name="TrainingOver">True when the training contract has completed: there will be no more rounds.</param>
public sealed record SwarmSyncResult(TensorModel Model, long Round, string ModelHash, bool Contributed, bool TrainingOver);

/// <summary>The answer to a progress report.</summary>
internal sealed record NextInterval(int SyncInterval);

/// <summary>Every error of the channel: <c>{"error": kind, "message": text}</c>.</summary>
internal sealed record ChannelError(string? Error, string? Message);

/// <summary>The channel's JSON: camelCase, generated at build time.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(SlNodeInfo))]
[JsonSerializable(typeof(SwarmSessionRequest))]
[JsonSerializable(typeof(SwarmSessionOpened))]
[JsonSerializable(typeof(SwarmProgress))]
[JsonSerializable(typeof(NextInterval))]
[JsonSerializable(typeof(ChannelError))]
internal sealed partial class ChannelJson : JsonSerializerContext;
