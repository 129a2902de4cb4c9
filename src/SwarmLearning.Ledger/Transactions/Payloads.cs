using System.Text.Json;
using System.Text.Json.Serialization;

namespace SwarmLearning.Ledger.Transactions;

// The JSON payload of each transaction type. Field names are camelCase; unknown fields and missing required fields
// are refused, so a typo never passes silently. Fingerprints and hashes are lowercase hex.
//
// An optional field with a default other than 0, false or null has a setter, not an init accessor: the source
// generator sets every init-only property when it builds the object, so a field missing from the JSON would get 0 or
// false or null instead of its documented default (makeMeAdmin true, weight 1, the genesis timings and names).
// Fields that hold certificates, lists of fingerprints or the task body are read by converters (PayloadConverters.cs)
// that refuse, as a malformed payload, what the contracts could not use: a certificate that does not decode, a null
// in a list, a string with an unpaired surrogate escape.

/// <summary>The swarm's configuration, in the genesis block.</summary>
public sealed record GenesisPayload
{
    /// <summary>The swarm's name, for display.</summary>
    public required string Swarm { get; init; }

    /// <summary>The CA certificates the swarm trusts, base64 DER.</summary>
    [JsonConverter(typeof(CertificateListConverter))]
    public required IReadOnlyList<string> Authorities { get; init; }

    /// <summary>
    /// Fingerprints of the initial administrators (may enrol and revoke members, create and reset contracts and task
    /// runners). The orderer is an administrator whether it is listed or not. Administrators are enrolled.
    /// </summary>
    [JsonConverter(typeof(StringListConverter))]
    public required IReadOnlyList<string> Administrators { get; init; }

    /// <summary>
    /// True when only enrolled identities are admitted (<c>member.enrol</c>, or <see cref="Enrolled"/> here). Every
    /// genesis made since enrolment exists says true; a genesis without the field predates it, and its swarm keeps
    /// admitting any identity of its CAs, as it did when it was created.
    /// </summary>
    public bool RequireEnrolment { get; set; }

    /// <summary>Identities enrolled from the start (the sentinel's <c>--enrol</c>), as if an administrator had enrolled them.</summary>
    public IReadOnlyList<EnrolPayload> Enrolled { get; set; } = [];

    /// <summary>The orderer: the sentinel SN, registered as the first member.</summary>
    public required RegisterPayload Orderer { get; init; }

    /// <summary>The protocol's timings and default names.</summary>
    public required LedgerDefaults Defaults { get; init; }
}

/// <summary>Timings and default names fixed at genesis. Every time rule uses block timestamps, never a node's clock.</summary>
public sealed record LedgerDefaults
{
    /// <summary>HPE's default training contract, created at genesis.</summary>
    public const string HpeDefaultContract = "defaultbb.cqdb.sml.hpe";

    /// <summary>HPE's default task runner, created at genesis.</summary>
    public const string HpeDefaultTaskRunner = "defaulttaskbb.taskdb.sml.hpe";

    /// <summary>After <c>minPeers</c> are ready, how long a round waits for the other active members (HPE: 30 s).</summary>
    public int FullQuorumWaitSeconds { get; set; } = 30;

    /// <summary>How often members heartbeat (advice to members; the rules use <see cref="MemberTimeoutSeconds"/>).</summary>
    public int HeartbeatIntervalSeconds { get; set; } = 1;

    /// <summary>A member with no heartbeat for this long is inactive: it no longer holds up a round and cannot lead.</summary>
    public int MemberTimeoutSeconds { get; set; } = 5;

    /// <summary>A leader that has not published the merged model this long after taking the lead is replaced (HPE: 600 s minimum).</summary>
    public int MergeTimeoutSeconds { get; set; } = 120;

    /// <summary>The training contract created at genesis.</summary>
    public string DefaultContract { get; set; } = HpeDefaultContract;

    /// <summary>The task runner created at genesis.</summary>
    public string DefaultTaskRunner { get; set; } = HpeDefaultTaskRunner;
}

/// <summary>A component joins the swarm.</summary>
public sealed record RegisterPayload
{
    /// <summary><c>sn</c>, <c>sl</c>, <c>swci</c> or <c>swop</c>; must match the role in the certificate.</summary>
    public required string Role { get; init; }

    /// <summary>The component's name; must match the certificate's.</summary>
    public required string Name { get; init; }

    /// <summary>The certificate, base64 DER; its fingerprint must be the sender.</summary>
    [JsonConverter(typeof(CertificateConverter))]
    public required string Certificate { get; init; }

    /// <summary>The host other components reach it at.</summary>
    public string? Host { get; init; }

    /// <summary>SN API port (30304), if it serves one.</summary>
    public int? ApiPort { get; init; }

    /// <summary>SN peer port (30303), if it serves one.</summary>
    public int? PeerPort { get; init; }

    /// <summary>SL file server port (30305), if it serves one.</summary>
    public int? FilePort { get; init; }
}

/// <summary>An administrator admits an identity: from now on it may connect and register.</summary>
public sealed record EnrolPayload
{
    /// <summary>The identity's certificate fingerprint.</summary>
    public required string Fingerprint { get; init; }

    /// <summary>The role in its certificate: <c>sn</c>, <c>sl</c>, <c>swci</c> or <c>swop</c>.</summary>
    public required string Role { get; init; }

    /// <summary>The name in its certificate.</summary>
    public required string Name { get; init; }

    /// <summary>Why, or who it is, for the record.</summary>
    public string? Note { get; init; }
}

/// <summary>
/// A member moves to a new certificate (<c>member.rotate</c>), signed by its current identity. <see cref="Proof"/> shows
/// that whoever asks holds the new key too: see <see cref="RotationProof"/>.
/// </summary>
public sealed record RotatePayload
{
    /// <summary>The new certificate, base64 DER: same role and name as the sender's, from a CA named in genesis.</summary>
    [JsonConverter(typeof(CertificateConverter))]
    public required string Certificate { get; init; }

    /// <summary>The new key's signature (base64, 64 bytes) of <see cref="RotationProof.Message"/>.</summary>
    public required string Proof { get; init; }

    /// <summary>Why (renewal, a suspected key), for the record.</summary>
    public string? Reason { get; init; }
}

/// <summary>Revokes a member, or an enrolled identity that has not registered yet.</summary>
public sealed record RevokePayload
{
    /// <summary>The member's (or enrolled identity's) fingerprint.</summary>
    public required string Member { get; init; }

    /// <summary>Why, for the record.</summary>
    public string? Reason { get; init; }
}

/// <summary>Names a training contract, task or task runner.</summary>
public sealed record NamePayload
{
    /// <summary>The name.</summary>
    public required string Name { get; init; }
}

/// <summary>An SL node is ready for a round.</summary>
public sealed record ReadyPayload
{
    /// <summary>The training contract.</summary>
    public required string Contract { get; init; }

    /// <summary>The round it is ready for: the contract's current round.</summary>
    public required long Round { get; init; }

    /// <summary>Its merge weight (<c>nodeWeightage</c>, or a sample count); 0 contributes nothing.</summary>
    public required double Weight { get; init; }

    /// <summary>The fewest participants it accepts (<c>minPeers</c>); the round uses the largest any participant asked for.</summary>
    public required int MinPeers { get; init; }

    /// <summary>False keeps it out of the round's leader order (<c>makeMeAdmin=false</c>).</summary>
    public bool MakeMeAdmin { get; set; } = true;

    /// <summary>
    /// The model hash of the node's submission (BLAKE3, 64 lowercase hex digits), published before it says it is
    /// ready: the round records it as the node's submission when it closes, so the node needs no <c>round.submit</c>
    /// and the leader can fetch as soon as the round closes. Null (and then not written): the node submits with
    /// <c>round.submit</c> once the round has closed.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? ModelHash { get; init; }

    /// <summary>The submission's size in bytes: given with <see cref="ModelHash"/>, and only with it.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? Size { get; init; }
}

/// <summary>A participant published its model for the round.</summary>
public sealed record SubmitPayload
{
    /// <summary>The training contract.</summary>
    public required string Contract { get; init; }

    /// <summary>The round.</summary>
    public required long Round { get; init; }

    /// <summary>The model hash of the safetensors file: BLAKE3, 64 lowercase hex digits.</summary>
    public required string ModelHash { get; init; }

    /// <summary>The file's size in bytes.</summary>
    public required long Size { get; init; }
}

/// <summary>The leader published the merged model.</summary>
public sealed record MergedPayload
{
    /// <summary>The training contract.</summary>
    public required string Contract { get; init; }

    /// <summary>The round.</summary>
    public required long Round { get; init; }

    /// <summary>The model hash of the merged safetensors file: BLAKE3, 64 lowercase hex digits.</summary>
    public required string ModelHash { get; init; }

    /// <summary>The file's size in bytes.</summary>
    public required long Size { get; init; }

    /// <summary>Fingerprints of the participants whose submissions went into the merge.</summary>
    [JsonConverter(typeof(StringListConverter))]
    public required IReadOnlyList<string> Contributors { get; init; }

    /// <summary>The merge method used.</summary>
    public required string MergeMethod { get; init; }

    /// <summary>
    /// The merge momentum β the leader applied (docs/merge-methods.md#merge-momentum): the published model is the
    /// merge of the submissions plus β times the step between the contract's last two merged models. 0 (the default,
    /// and then not written): the merge as it is, as HPE's methods are.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public double Momentum { get; init; }
}

/// <summary>Names a training contract.</summary>
public sealed record ContractPayload
{
    /// <summary>The training contract.</summary>
    public required string Contract { get; init; }
}

/// <summary>An ML node's progress, for SWCI's PERFDATA and the dashboard.</summary>
public sealed record ProgressPayload
{
    /// <summary>The training contract.</summary>
    public required string Contract { get; init; }

    /// <summary>Validation loss.</summary>
    public required double Loss { get; init; }

    /// <summary>Validation metric (accuracy, F1, …).</summary>
    public required double Metric { get; init; }

    /// <summary>Epochs done.</summary>
    public required int EpochsDone { get; init; }

    /// <summary>Epochs in total.</summary>
    public required int TotalEpochs { get; init; }
}

/// <summary>An SL node's local training ended.</summary>
public sealed record TrainingEndPayload
{
    /// <summary>The training contract.</summary>
    public required string Contract { get; init; }

    /// <summary><c>snapshot</c>, <c>active</c> or <c>inactive</c> (HPE's <c>checkinModelOnTrainEnd</c>).</summary>
    public required string Mode { get; init; }

    /// <summary>Its merge weight in the rounds it takes part in from now on (0 is forced for <c>inactive</c>).</summary>
    public double Weight { get; set; } = 1;

    /// <summary>False keeps it out of the leader order of those rounds.</summary>
    public bool MakeMeAdmin { get; set; } = true;
}

/// <summary>A task, in HPE's task schema.</summary>
public sealed record TaskPayload
{
    /// <summary>The task's name.</summary>
    public required string Name { get; init; }

    /// <summary><c>RUN_SWARM</c>, <c>MAKE_SWARM_USER_CONTENT</c>, <c>MAKE_USER_CONTAINER</c> or <c>PULL_IMAGE</c>.</summary>
    public required string TaskType { get; init; }

    /// <summary>Who wrote it.</summary>
    public required string Author { get; init; }

    /// <summary>The task that must have succeeded first (<c>ROOTTASK</c> for none).</summary>
    public required string Prereq { get; init; }

    /// <summary>What it produces.</summary>
    public required string Outcome { get; init; }

    /// <summary>The type-specific body, as a JSON object.</summary>
    [JsonConverter(typeof(JsonBodyConverter))]
    public required JsonElement Body { get; init; }
}

/// <summary>Assigns a task to a task runner.</summary>
public sealed record AssignPayload
{
    /// <summary>The task runner.</summary>
    public required string Runner { get; init; }

    /// <summary>The finalized task.</summary>
    public required string Task { get; init; }

    /// <summary>How many peers must succeed (<c>WITH n PEERS</c>); 0 with <see cref="All"/>.</summary>
    public int Peers { get; init; }

    /// <summary><c>WITH ALL PEERS</c>.</summary>
    public bool All { get; init; }

    /// <summary><c>TARGET swop</c>: the one operator's fingerprint.</summary>
    public string? Target { get; init; }
}

/// <summary>A SWOP's state on its task runner's current task.</summary>
public sealed record TaskReportPayload
{
    /// <summary>The task runner.</summary>
    public required string Runner { get; init; }

    /// <summary><c>running</c>, <c>completed</c> or <c>failed</c>.</summary>
    public required string State { get; init; }

    /// <summary>What happened, for humans.</summary>
    public string? Message { get; init; }

    /// <summary>
    /// RUN_SWARM only: the state of each SL/ML pair this operator started (HPE's <c>GET TASKRUNNER PEER STATUS</c>).
    /// A RUN_SWARM runner counts completed pairs, not operators; a report without it counts as one pair.
    /// </summary>
    public IReadOnlyList<TaskPeerReport>? Peers { get; init; }
}

/// <summary>One SL/ML pair in a RUN_SWARM report.</summary>
public sealed record TaskPeerReport
{
    /// <summary>The SL node's name (its identity's).</summary>
    public required string Uid { get; init; }

    /// <summary><c>running</c>, <c>completed</c> or <c>failed</c>.</summary>
    public required string State { get; init; }

    /// <summary>What happened, for humans.</summary>
    public string? Message { get; init; }
}

/// <summary>The JSON settings of every payload: strict, camelCase. Use it to build payloads that the contracts accept.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true,
    NumberHandling = JsonNumberHandling.Strict,
    MaxDepth = 32)]
[JsonSerializable(typeof(GenesisPayload))]
[JsonSerializable(typeof(RegisterPayload))]
[JsonSerializable(typeof(EnrolPayload))]
[JsonSerializable(typeof(RevokePayload))]
[JsonSerializable(typeof(RotatePayload))]
[JsonSerializable(typeof(NamePayload))]
[JsonSerializable(typeof(ReadyPayload))]
[JsonSerializable(typeof(SubmitPayload))]
[JsonSerializable(typeof(MergedPayload))]
[JsonSerializable(typeof(ContractPayload))]
[JsonSerializable(typeof(ProgressPayload))]
[JsonSerializable(typeof(TrainingEndPayload))]
[JsonSerializable(typeof(TaskPayload))]
[JsonSerializable(typeof(AssignPayload))]
[JsonSerializable(typeof(TaskReportPayload))]
[JsonSerializable(typeof(EmptyPayload))]
public sealed partial class PayloadJson : JsonSerializerContext;

/// <summary>The payload of a transaction that needs none (a heartbeat).</summary>
public sealed record EmptyPayload;
