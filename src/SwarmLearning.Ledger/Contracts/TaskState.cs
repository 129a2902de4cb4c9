using SwarmLearning.Identity;
using SwarmLearning.Ledger.Serialization;

namespace SwarmLearning.Ledger.Contracts;

/// <summary>A task in HPE's task schema. Data only here; SWOP executes tasks (a later issue).</summary>
public sealed record TaskState
{
    /// <summary>Its name.</summary>
    public required string Name { get; init; }

    /// <summary><c>RUN_SWARM</c>, <c>MAKE_SWARM_USER_CONTENT</c>, <c>MAKE_USER_CONTAINER</c> or <c>PULL_IMAGE</c>.</summary>
    public required string TaskType { get; init; }

    /// <summary>Its author.</summary>
    public required string Author { get; init; }

    /// <summary>The prerequisite task (<c>ROOTTASK</c> for none).</summary>
    public required string Prereq { get; init; }

    /// <summary>Its outcome.</summary>
    public required string Outcome { get; init; }

    /// <summary>The body, compact JSON text.</summary>
    public required string Body { get; init; }

    /// <summary>Who created it.</summary>
    public required Fingerprint CreatedBy { get; init; }

    /// <summary>Block time of creation.</summary>
    public required long CreatedAt { get; init; }

    /// <summary>True once finalized: the body is frozen and the task can be assigned, not deleted.</summary>
    public bool Finalized { get; init; }

    internal void WriteTo(LedgerWriter w)
    {
        w.WriteString(Name);
        w.WriteString(TaskType);
        w.WriteString(Author);
        w.WriteString(Prereq);
        w.WriteString(Outcome);
        w.WriteBytes(System.Text.Encoding.UTF8.GetBytes(Body));
        w.WriteFingerprint(CreatedBy);
        w.WriteI64(CreatedAt);
        w.WriteBool(Finalized);
    }
}

/// <summary>Where a task runner is.</summary>
public enum TaskRunnerStatus
{
    /// <summary>No task assigned (created, or reset).</summary>
    Idle,

    /// <summary>A task is assigned and not yet done.</summary>
    Running,

    /// <summary>Enough peers completed the task.</summary>
    Completed,

    /// <summary>Peers failed and none is still running, with too few completed.</summary>
    Failed,
}

/// <summary>A task runner: coordinates one task at a time across the SWOPs that watch it.</summary>
public sealed class TaskRunnerState
{
    /// <summary>Its name.</summary>
    public required string Name { get; init; }

    /// <summary>Who created it (all zero for the genesis default).</summary>
    public required Fingerprint CreatedBy { get; init; }

    /// <summary>Block time of creation.</summary>
    public required long CreatedAt { get; init; }

    /// <summary>Its status.</summary>
    public TaskRunnerStatus Status { get; internal set; }

    /// <summary>The assigned task.</summary>
    public string? Task { get; internal set; }

    /// <summary>How many peers must complete it.</summary>
    public int RequiredPeers { get; internal set; }

    /// <summary>The one SWOP it targets, if assigned with <c>TARGET</c>.</summary>
    public Fingerprint? Target { get; internal set; }

    /// <summary>Block time of the assignment.</summary>
    public long? AssignedAt { get; internal set; }

    /// <summary>Each SWOP's report on the current task.</summary>
    public SortedDictionary<Fingerprint, TaskReportRecord> Reports { get; private set; } = [];

    internal TaskRunnerState Clone()
    {
        var copy = (TaskRunnerState)MemberwiseClone();
        copy.Reports = new SortedDictionary<Fingerprint, TaskReportRecord>(Reports);
        return copy;
    }

    /// <summary>True when a report lists its SL/ML pairs (written apart, so older states hash as they did).</summary>
    internal bool HasPeerReports => Reports.Values.Any(r => r.Peers is not null);

    /// <summary>The reports' SL/ML pairs, for the state hash: written after everything else (see LedgerState.WriteTo).</summary>
    internal void WritePeerReportsTo(LedgerWriter w)
    {
        w.WriteString(Name);
        var reports = Reports.Where(r => r.Value.Peers is not null).ToList();
        w.WriteU32((uint)reports.Count);
        foreach (var (f, r) in reports)
        {
            w.WriteFingerprint(f);
            w.WriteU32((uint)r.Peers!.Count);
            foreach (var p in r.Peers)
            {
                w.WriteString(p.Uid);
                w.WriteString(p.State);
                w.WriteOptionalString(p.Message);
            }
        }
    }

    internal void WriteTo(LedgerWriter w)
    {
        w.WriteString(Name);
        w.WriteFingerprint(CreatedBy);
        w.WriteI64(CreatedAt);
        w.WriteU8((byte)Status);
        w.WriteOptionalString(Task);
        w.WriteI32(RequiredPeers);
        w.WriteBool(Target is not null);
        if (Target is { } t)
        {
            w.WriteFingerprint(t);
        }

        w.WriteI64(AssignedAt ?? -1);
        w.WriteU32((uint)Reports.Count);
        foreach (var (f, r) in Reports)
        {
            w.WriteFingerprint(f);
            w.WriteString(r.State);
            w.WriteOptionalString(r.Message);
            w.WriteI64(r.At);
        }
    }
}

/// <summary>A SWOP's report.</summary>
public sealed record TaskReportRecord(string State, string? Message, long At)
{
    /// <summary>RUN_SWARM: each SL/ML pair the operator started (HPE's peer status); null when not reported.</summary>
    public IReadOnlyList<TaskPeerRecord>? Peers { get; init; }
}

/// <summary>One SL/ML pair of a RUN_SWARM report.</summary>
public sealed record TaskPeerRecord(string Uid, string State, string? Message);
