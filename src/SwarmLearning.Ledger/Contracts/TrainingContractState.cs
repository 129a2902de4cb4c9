using SwarmLearning.Identity;
using SwarmLearning.Ledger.Serialization;

namespace SwarmLearning.Ledger.Contracts;

/// <summary>Where a training contract is in its life.</summary>
public enum ContractStatus
{
    /// <summary>Created (or reset); no node has joined a round yet.</summary>
    Created,

    /// <summary>Nodes are training and merging.</summary>
    Running,

    /// <summary>Every node that joined has ended its local training, or is gone (no heartbeat for the member timeout, revoked).</summary>
    Completed,
}

/// <summary>Where the current round is.</summary>
public enum RoundPhase
{
    /// <summary>Collecting ready nodes.</summary>
    Collecting,

    /// <summary>The participant set is fixed; participants submit and the leader merges.</summary>
    Closed,
}

/// <summary>A training contract: HPE's unit of one swarm training, identified by name.</summary>
public sealed class TrainingContractState
{
    /// <summary>Its name.</summary>
    public required string Name { get; init; }

    /// <summary>Who created it (all zero for the genesis default).</summary>
    public required Fingerprint CreatedBy { get; init; }

    /// <summary>Block time of creation.</summary>
    public required long CreatedAt { get; init; }

    /// <summary>Its status.</summary>
    public ContractStatus Status { get; internal set; }

    /// <summary>How many times it was reset.</summary>
    public int Resets { get; internal set; }

    /// <summary>The current round.</summary>
    public RoundState Round { get; internal set; } = new() { Number = 1 };

    /// <summary>The last merge, if any.</summary>
    public MergedRecord? LastMerged { get; internal set; }

    /// <summary>SL nodes that were ready for a round of this contract since it was created or reset.</summary>
    public SortedSet<Fingerprint> Joined { get; private set; } = [];

    /// <summary>
    /// SL nodes whose local training ended, with their <c>checkinModelOnTrainEnd</c> mode. While they stay active they
    /// take part in every round that closes, with the weight they ended with, until the contract completes.
    /// </summary>
    public SortedDictionary<Fingerprint, FinishedRecord> Finished { get; private set; } = [];

    /// <summary>Each ML node's last progress report.</summary>
    public SortedDictionary<Fingerprint, ProgressRecord> Progress { get; private set; } = [];

    internal TrainingContractState Clone()
    {
        var copy = (TrainingContractState)MemberwiseClone();
        copy.Round = Round.Clone();
        copy.Joined = [.. Joined];
        copy.Finished = new SortedDictionary<Fingerprint, FinishedRecord>(Finished);
        copy.Progress = new SortedDictionary<Fingerprint, ProgressRecord>(Progress);
        return copy;
    }

    internal void ResetToCreated()
    {
        Status = ContractStatus.Created;
        Resets++;
        Round = new RoundState { Number = 1 };
        LastMerged = null;
        Joined.Clear();
        Finished.Clear();
        Progress.Clear();
    }

    internal void WriteTo(LedgerWriter w)
    {
        w.WriteString(Name);
        w.WriteFingerprint(CreatedBy);
        w.WriteI64(CreatedAt);
        w.WriteU8((byte)Status);
        w.WriteI32(Resets);
        Round.WriteTo(w);
        w.WriteBool(LastMerged is not null);
        LastMerged?.WriteTo(w);
        w.WriteU32((uint)Joined.Count);
        foreach (var f in Joined)
        {
            w.WriteFingerprint(f);
        }

        w.WriteU32((uint)Finished.Count);
        foreach (var (f, finished) in Finished)
        {
            w.WriteFingerprint(f);
            w.WriteString(finished.Mode);
            w.WriteF64(finished.Weight);
            w.WriteBool(finished.MakeMeAdmin);
            w.WriteI64(finished.At);
        }

        w.WriteU32((uint)Progress.Count);
        foreach (var (f, p) in Progress)
        {
            w.WriteFingerprint(f);
            p.WriteTo(w);
        }
    }
}

/// <summary>One round of a training contract.</summary>
public sealed class RoundState
{
    /// <summary>The round number, from 1.</summary>
    public required long Number { get; init; }

    /// <summary>Collecting or closed.</summary>
    public RoundPhase Phase { get; internal set; }

    /// <summary>Ready nodes and what they declared.</summary>
    public SortedDictionary<Fingerprint, ReadyRecord> Ready { get; private set; } = [];

    /// <summary>Block time at which the ready set first reached the round's <c>minPeers</c>; the full-quorum wait starts here.</summary>
    public long? QuorumAt { get; internal set; }

    /// <summary>Block time at which the participant set closed.</summary>
    public long? ClosedAt { get; internal set; }

    /// <summary>The participants, sorted by fingerprint; fixed at closing.</summary>
    public List<Fingerprint> Participants { get; private set; } = [];

    /// <summary>Who leads, in turn: the participants that may lead, ordered by SHA-256(contract, round, fingerprint).</summary>
    public List<Fingerprint> LeaderOrder { get; private set; } = [];

    /// <summary>The index of the current leader in <see cref="LeaderOrder"/>.</summary>
    public int LeaderIndex { get; internal set; }

    /// <summary>Block time at which the current leader took the lead.</summary>
    public long LeaderSince { get; internal set; }

    /// <summary>The current leader, once closed.</summary>
    public Fingerprint? Leader => Phase == RoundPhase.Closed && LeaderOrder.Count > 0 ? LeaderOrder[LeaderIndex] : null;

    /// <summary>Submitted models by participant.</summary>
    public SortedDictionary<Fingerprint, SubmissionRecord> Submissions { get; private set; } = [];

    /// <summary>Leader changes in this round.</summary>
    public List<FailoverRecord> Failovers { get; private set; } = [];

    internal RoundState Clone()
    {
        var copy = (RoundState)MemberwiseClone();
        copy.Ready = new SortedDictionary<Fingerprint, ReadyRecord>(Ready);
        copy.Participants = [.. Participants];
        copy.LeaderOrder = [.. LeaderOrder];
        copy.Submissions = new SortedDictionary<Fingerprint, SubmissionRecord>(Submissions);
        copy.Failovers = [.. Failovers];
        return copy;
    }

    internal void WriteTo(LedgerWriter w)
    {
        w.WriteI64(Number);
        w.WriteU8((byte)Phase);
        w.WriteU32((uint)Ready.Count);
        foreach (var (f, r) in Ready)
        {
            w.WriteFingerprint(f);
            w.WriteF64(r.Weight);
            w.WriteI32(r.MinPeers);
            w.WriteBool(r.MakeMeAdmin);
            w.WriteI64(r.At);
        }

        w.WriteI64(QuorumAt ?? -1);
        w.WriteI64(ClosedAt ?? -1);
        WriteList(w, Participants);
        WriteList(w, LeaderOrder);
        w.WriteI32(LeaderIndex);
        w.WriteI64(LeaderSince);
        w.WriteU32((uint)Submissions.Count);
        foreach (var (f, s) in Submissions)
        {
            w.WriteFingerprint(f);
            w.WriteString(s.ModelHash);
            w.WriteI64(s.Size);
            w.WriteI64(s.At);
        }

        w.WriteU32((uint)Failovers.Count);
        foreach (var f in Failovers)
        {
            w.WriteFingerprint(f.From);
            w.WriteFingerprint(f.To);
            w.WriteI64(f.At);
            w.WriteString(f.Reason);
        }
    }

    /// <summary>The ready declarations that carry a submission (written in the state's tail: <see cref="LedgerState"/>).</summary>
    internal IEnumerable<KeyValuePair<Fingerprint, ReadyRecord>> ReadyWithSubmission => Ready.Where(r => r.Value.Submission is not null);

    internal void WriteReadySubmissionsTo(LedgerWriter w)
    {
        var ready = ReadyWithSubmission.ToList();
        w.WriteI64(Number);
        w.WriteU32((uint)ready.Count);
        foreach (var (f, r) in ready)
        {
            w.WriteFingerprint(f);
            w.WriteString(r.Submission!.ModelHash);
            w.WriteI64(r.Submission.Size);
            w.WriteI64(r.Submission.At);
        }
    }

    private static void WriteList(LedgerWriter w, List<Fingerprint> list)
    {
        w.WriteU32((uint)list.Count);
        foreach (var f in list)
        {
            w.WriteFingerprint(f);
        }
    }
}

/// <summary>A node's ready declaration, and the submission it came with, if any (it counts once the round closes).</summary>
public sealed record ReadyRecord(double Weight, int MinPeers, bool MakeMeAdmin, long At, SubmissionRecord? Submission = null);

/// <summary>A node's end of training: its <c>checkinModelOnTrainEnd</c> mode and the weight it contributes with from then on.</summary>
public sealed record FinishedRecord(string Mode, double Weight, bool MakeMeAdmin, long At);

/// <summary>A participant's submitted model.</summary>
public sealed record SubmissionRecord(string ModelHash, long Size, long At);

/// <summary>A leader change: who failed, who took over, when and why.</summary>
public sealed record FailoverRecord(Fingerprint From, Fingerprint To, long At, string Reason);

/// <summary>An ML node's last progress report.</summary>
public sealed record ProgressRecord(double Loss, double Metric, int EpochsDone, int TotalEpochs, long At)
{
    internal void WriteTo(LedgerWriter w)
    {
        w.WriteF64(Loss);
        w.WriteF64(Metric);
        w.WriteI32(EpochsDone);
        w.WriteI32(TotalEpochs);
        w.WriteI64(At);
    }
}

/// <summary>
/// The outcome of a round: the merged model and who went into it; the merge momentum the leader applied (0: none) and
/// the hash of the contract's merged model before this one (null for its first), which a later leader's momentum
/// steps from.
/// </summary>
public sealed record MergedRecord(long Round, string ModelHash, long Size, IReadOnlyList<Fingerprint> Contributors, Fingerprint Leader, string MergeMethod, long At, double Momentum = 0, string? Previous = null)
{
    internal void WriteTo(LedgerWriter w)
    {
        w.WriteI64(Round);
        w.WriteString(ModelHash);
        w.WriteI64(Size);
        w.WriteU32((uint)Contributors.Count);
        foreach (var f in Contributors)
        {
            w.WriteFingerprint(f);
        }

        w.WriteFingerprint(Leader);
        w.WriteString(MergeMethod);
        w.WriteI64(At);
        w.WriteF64(Momentum);
        w.WriteOptionalString(Previous);
    }
}
