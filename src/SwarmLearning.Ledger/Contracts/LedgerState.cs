using System.Security.Cryptography;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Serialization;
using SwarmLearning.Ledger.Transactions;

namespace SwarmLearning.Ledger.Contracts;

/// <summary>
/// The contract state every SN computes by applying the chain's blocks: the swarm's configuration, its members, the
/// training contracts with their current round, the tasks and task runners, and each sender's last sequence number.
/// Its canonical encoding, hashed with SHA-256, is the post-state hash every block carries, so two SNs that applied
/// the same blocks can prove they hold the same state.
/// </summary>
/// <remarks>
/// Collections are sorted by key so the encoding is independent of insertion order. History (past rounds, past
/// assignments) is not kept here: it is the chain itself. The state keeps what the rules need and what the API shows.
/// </remarks>
public sealed partial class LedgerState
{
    internal LedgerState(GenesisPayload genesis, byte[] chainId, IReadOnlyList<Fingerprint> administrators, SwarmTrust trust)
    {
        Genesis = genesis;
        ChainId = chainId;
        Administrators = administrators;
        Trust = trust;
    }

    /// <summary>The configuration from the genesis block.</summary>
    public GenesisPayload Genesis { get; }

    /// <summary>The hash of the genesis block: every transaction is signed for it.</summary>
    public ReadOnlyMemory<byte> ChainId { get; }

    /// <summary>The initial administrators.</summary>
    public IReadOnlyList<Fingerprint> Administrators { get; }

    /// <summary>The CAs named in genesis.</summary>
    internal SwarmTrust Trust { get; }

    /// <summary>The timings from genesis.</summary>
    public LedgerDefaults Defaults => Genesis.Defaults;

    /// <summary>The height of the last block applied.</summary>
    public long Height { get; internal set; } = -1;

    /// <summary>The timestamp of the last block applied, Unix milliseconds.</summary>
    public long Time { get; internal set; }

    /// <summary>Members by fingerprint, revoked ones included (a revoked fingerprint can never come back).</summary>
    public SortedDictionary<Fingerprint, MemberState> Members { get; } = [];

    /// <summary>
    /// Enrolled identities by fingerprint, revoked ones included: who may connect and register. Empty in a swarm whose
    /// genesis predates enrolment (<see cref="GenesisPayload.RequireEnrolment"/> false).
    /// </summary>
    public SortedDictionary<Fingerprint, EnrolmentState> Enrolments { get; } = [];

    /// <summary>
    /// Retired fingerprints, each with the rotation that retired it (<c>member.rotate</c>): the identity moved to
    /// <see cref="RotationState.New"/>, which holds everything the old fingerprint held, and the old certificate may not
    /// connect or send anything again. Kept for good, like revocations.
    /// </summary>
    public SortedDictionary<Fingerprint, RotationState> Rotations { get; } = [];

    /// <summary>The last sequence number accepted from each sender.</summary>
    public SortedDictionary<Fingerprint, ulong> Sequences { get; } = [];

    /// <summary>Training contracts by name.</summary>
    public SortedDictionary<string, TrainingContractState> Contracts { get; } = new(StringComparer.Ordinal);

    /// <summary>Tasks by name.</summary>
    public SortedDictionary<string, TaskState> Tasks { get; } = new(StringComparer.Ordinal);

    /// <summary>Task runners by name.</summary>
    public SortedDictionary<string, TaskRunnerState> TaskRunners { get; } = new(StringComparer.Ordinal);

    /// <summary>The orderer's fingerprint (the sentinel, in the embedded ordering mode).</summary>
    public Fingerprint Orderer { get; internal set; }

    /// <summary>True when the member exists, is not revoked and has heartbeated within the member timeout at <see cref="Time"/>.</summary>
    public bool IsActive(Fingerprint member) =>
        Members.TryGetValue(member, out var m) && !m.Revoked && !Rotations.ContainsKey(member) && Time - m.LastHeartbeat <= Defaults.MemberTimeoutSeconds * 1000L;

    /// <summary>
    /// True for an administrator: the orderer (the sentinel), the administrators genesis names, and the certificates
    /// they rotated to. A retired (rotated) fingerprint is no administrator any more.
    /// </summary>
    public bool IsAdministrator(Fingerprint member)
    {
        if (Rotations.ContainsKey(member))
        {
            return false;
        }

        if (member == Orderer)
        {
            return true;
        }

        for (Fingerprint? f = member; f is { } current; f = RotatedFrom(current))
        {
            if (Administrators.Contains(current))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The fingerprint that holds <paramref name="fingerprint"/>'s place now: itself, or where its rotations lead.</summary>
    public Fingerprint Resolve(Fingerprint fingerprint)
    {
        // A rotation's new fingerprint was unknown before it, so the rotations form chains without cycles; the bound
        // only guards the loop.
        var f = fingerprint;
        for (var steps = 0; steps <= Rotations.Count && Rotations.TryGetValue(f, out var rotation); steps++)
        {
            f = rotation.New;
        }

        return f;
    }

    /// <summary>The fingerprint <paramref name="fingerprint"/> was rotated from, or null when it was not.</summary>
    public Fingerprint? RotatedFrom(Fingerprint fingerprint)
    {
        foreach (var rotation in Rotations.Values)
        {
            if (rotation.New == fingerprint)
            {
                return rotation.Old;
            }
        }

        return null;
    }

    /// <summary>The block time at which <paramref name="fingerprint"/> was revoked, or null when it was not.</summary>
    public long? RevokedAt(Fingerprint fingerprint) =>
        (Members.TryGetValue(fingerprint, out var m) ? m.RevokedAt : null) ?? (Enrolments.TryGetValue(fingerprint, out var e) ? e.RevokedAt : null);

    /// <summary>The block time from which <paramref name="fingerprint"/> may not take part: its revocation or its rotation; null when neither.</summary>
    public long? RetiredAt(Fingerprint fingerprint) =>
        RevokedAt(fingerprint) ?? (Rotations.TryGetValue(fingerprint, out var r) ? r.At : null);

    /// <summary>
    /// Why the holder of <paramref name="fingerprint"/> may not connect to this swarm's nodes, or null when it may: it
    /// must be enrolled (or an administrator), and neither its enrolment nor its membership revoked. In a swarm whose
    /// genesis predates enrolment, any identity of the swarm's CAs that is not revoked may. <paramref name="who"/> names
    /// the identity in the message, for example <c>'sl1' (fingerprint 3f2a9c01d4e7)</c>.
    /// </summary>
    public string? AdmissionRefusal(Fingerprint fingerprint, string who)
    {
        if (Rotations.TryGetValue(fingerprint, out var rotation))
        {
            return $"{who} was rotated to the certificate with fingerprint {rotation.New.Short} in block {rotation.Height}; the old certificate is retired for good: the node must use its new certificate and key";
        }

        if (Members.TryGetValue(fingerprint, out var member) && member.Revoked)
        {
            return $"{who} was revoked from swarm '{Genesis.Swarm}'{(member.RevokeReason is { Length: > 0 } r ? $" ({r})" : "")}; a revoked identity cannot come back: issue a new one and have it enrolled";
        }

        if (Enrolments.TryGetValue(fingerprint, out var enrolment))
        {
            return enrolment.Revoked
                ? $"{who} was revoked from swarm '{Genesis.Swarm}'{(enrolment.RevokeReason is { Length: > 0 } reason ? $" ({reason})" : "")}; a revoked identity cannot come back: issue a new one and have it enrolled"
                : null;
        }

        if (!Genesis.RequireEnrolment || IsAdministrator(fingerprint))
        {
            return null;
        }

        return $"{who} is not enrolled in swarm '{Genesis.Swarm}'; ask an administrator to run 'swarm ctl enrol CERTFILE' (or 'swarm ctl enrol --fingerprint {fingerprint} --role ROLE --member-name NAME')";
    }

    /// <summary>A deep copy: blocks are applied to a copy so a block that fails half way leaves the state untouched.</summary>
    public LedgerState Clone()
    {
        var copy = new LedgerState(Genesis, (byte[])ChainId.ToArray(), Administrators, Trust)
        {
            Height = Height,
            Time = Time,
            Orderer = Orderer,
        };
        foreach (var (k, v) in Members)
        {
            copy.Members.Add(k, v.Clone());
        }

        foreach (var (k, v) in Enrolments)
        {
            copy.Enrolments.Add(k, v.Clone());
        }

        foreach (var (k, v) in Rotations)
        {
            copy.Rotations.Add(k, v); // immutable
        }

        foreach (var (k, v) in Sequences)
        {
            copy.Sequences.Add(k, v);
        }

        foreach (var (k, v) in Contracts)
        {
            copy.Contracts.Add(k, v.Clone());
        }

        foreach (var (k, v) in Tasks)
        {
            copy.Tasks.Add(k, v);
        }

        foreach (var (k, v) in TaskRunners)
        {
            copy.TaskRunners.Add(k, v.Clone());
        }

        return copy;
    }

    /// <summary>SHA-256 of the canonical encoding of the whole state.</summary>
    public byte[] ComputeHash()
    {
        var w = new LedgerWriter(4096);
        WriteTo(w);
        return SHA256.HashData(w.WrittenSpan);
    }

    internal void WriteTo(LedgerWriter w)
    {
        w.WriteFixed("SLST"u8);

        // Version 2 adds the enrolments, version 3 the rotations. A swarm whose genesis predates enrolment keeps version
        // 1, and a state without rotations keeps the version it had, so the state hashes recorded in blocks made before
        // either existed still verify.
        var version = Rotations.Count > 0 ? (byte)3 : Genesis.RequireEnrolment ? (byte)2 : (byte)1;
        w.WriteU8(version);
        w.WriteFixed(ChainId.Span);
        w.WriteI64(Height);
        w.WriteI64(Time);
        w.WriteFingerprint(Orderer);
        w.WriteU32((uint)Members.Count);
        foreach (var m in Members.Values)
        {
            m.WriteTo(w);
        }

        if (version >= 2)
        {
            w.WriteU32((uint)Enrolments.Count);
            foreach (var e in Enrolments.Values)
            {
                e.WriteTo(w);
            }
        }

        if (version >= 3)
        {
            w.WriteU32((uint)Rotations.Count);
            foreach (var r in Rotations.Values)
            {
                r.WriteTo(w);
            }
        }

        w.WriteU32((uint)Sequences.Count);
        foreach (var (k, v) in Sequences)
        {
            w.WriteFingerprint(k);
            w.WriteU64(v);
        }

        w.WriteU32((uint)Contracts.Count);
        foreach (var c in Contracts.Values)
        {
            c.WriteTo(w);
        }

        w.WriteU32((uint)Tasks.Count);
        foreach (var t in Tasks.Values)
        {
            t.WriteTo(w);
        }

        w.WriteU32((uint)TaskRunners.Count);
        foreach (var r in TaskRunners.Values)
        {
            r.WriteTo(w);
        }

        // RUN_SWARM reports' SL/ML pairs came later: they are appended only when some exist, so every state without
        // them encodes (and hashes) exactly as before. The encoding above is self-delimiting, so the tail is unambiguous.
        var withPeers = TaskRunners.Values.Where(r => r.HasPeerReports).ToList();
        if (withPeers.Count > 0)
        {
            w.WriteFixed("PEER"u8);
            w.WriteU32((uint)withPeers.Count);
            foreach (var r in withPeers)
            {
                r.WritePeerReportsTo(w);
            }
        }

        // Submissions named in round.ready declarations came later still, and follow the same rule: a tail of their
        // own, tagged, written only when a collecting round holds one.
        var withSubmissions = Contracts.Values.Where(c => c.Round.ReadyWithSubmission.Any()).ToList();
        if (withSubmissions.Count > 0)
        {
            w.WriteFixed("RDYS"u8);
            w.WriteU32((uint)withSubmissions.Count);
            foreach (var c in withSubmissions)
            {
                w.WriteString(c.Name);
                c.Round.WriteReadySubmissionsTo(w);
            }
        }
    }
}

/// <summary>A certificate rotation (<c>member.rotate</c>): <see cref="Old"/> is retired, <see cref="New"/> holds its place.</summary>
public sealed class RotationState
{
    /// <summary>The retired fingerprint.</summary>
    public required Fingerprint Old { get; init; }

    /// <summary>The fingerprint of the certificate it moved to.</summary>
    public required Fingerprint New { get; init; }

    /// <summary>The block that recorded the rotation.</summary>
    public required long Height { get; init; }

    /// <summary>Block time of the rotation.</summary>
    public required long At { get; init; }

    /// <summary>Why, as the member said.</summary>
    public string? Reason { get; init; }

    internal void WriteTo(LedgerWriter w)
    {
        w.WriteFingerprint(Old);
        w.WriteFingerprint(New);
        w.WriteI64(Height);
        w.WriteI64(At);
        w.WriteOptionalString(Reason);
    }
}

/// <summary>An identity an administrator enrolled (or genesis did): it may connect and register, until revoked.</summary>
public sealed class EnrolmentState
{
    /// <summary>Its certificate's fingerprint.</summary>
    public required Fingerprint Fingerprint { get; init; }

    /// <summary>The role its certificate must carry; null for an administrator genesis names by fingerprint only.</summary>
    public SwarmRole? Role { get; init; }

    /// <summary>The name its certificate must carry; null for an administrator genesis names by fingerprint only.</summary>
    public string? Name { get; init; }

    /// <summary>Why, or who it is, for the record.</summary>
    public string? Note { get; init; }

    /// <summary>Who enrolled it; the orderer for genesis enrolments.</summary>
    public required Fingerprint EnrolledBy { get; init; }

    /// <summary>Block time of the enrolment.</summary>
    public required long EnrolledAt { get; init; }

    /// <summary>True once revoked; for good.</summary>
    public bool Revoked { get; internal set; }

    /// <summary>Block time of the revocation.</summary>
    public long? RevokedAt { get; internal set; }

    /// <summary>Why it was revoked.</summary>
    public string? RevokeReason { get; internal set; }

    internal EnrolmentState Clone() => (EnrolmentState)MemberwiseClone();

    internal void WriteTo(LedgerWriter w)
    {
        w.WriteFingerprint(Fingerprint);
        w.WriteU8(Role is { } role ? (byte)role : byte.MaxValue);
        w.WriteOptionalString(Name);
        w.WriteOptionalString(Note);
        w.WriteFingerprint(EnrolledBy);
        w.WriteI64(EnrolledAt);
        w.WriteBool(Revoked);
        w.WriteI64(RevokedAt ?? -1);
        w.WriteOptionalString(RevokeReason);
    }
}

/// <summary>A member of the swarm.</summary>
public sealed class MemberState
{
    /// <summary>Its certificate's fingerprint.</summary>
    public required Fingerprint Fingerprint { get; init; }

    /// <summary>Its role.</summary>
    public required SwarmRole Role { get; init; }

    /// <summary>Its name.</summary>
    public required string Name { get; init; }

    /// <summary>Its certificate, DER.</summary>
    public required byte[] Certificate { get; init; }

    /// <summary>When its certificate expires, Unix milliseconds.</summary>
    public required long NotAfter { get; init; }

    /// <summary>The host it is reached at.</summary>
    public string? Host { get; init; }

    /// <summary>SN API port.</summary>
    public int? ApiPort { get; init; }

    /// <summary>SN peer port.</summary>
    public int? PeerPort { get; init; }

    /// <summary>SL file server port.</summary>
    public int? FilePort { get; init; }

    /// <summary>Block time of its registration.</summary>
    public required long RegisteredAt { get; init; }

    /// <summary>Block time of its last heartbeat (or registration).</summary>
    public long LastHeartbeat { get; internal set; }

    /// <summary>True once revoked; for good.</summary>
    public bool Revoked { get; internal set; }

    /// <summary>Block time of the revocation.</summary>
    public long? RevokedAt { get; internal set; }

    /// <summary>Why it was revoked.</summary>
    public string? RevokeReason { get; internal set; }

    internal MemberState Clone() => (MemberState)MemberwiseClone();

    internal void WriteTo(LedgerWriter w)
    {
        w.WriteFingerprint(Fingerprint);
        w.WriteU8((byte)Role);
        w.WriteString(Name);
        w.WriteBytes(Certificate);
        w.WriteI64(NotAfter);
        w.WriteOptionalString(Host);
        w.WriteI32(ApiPort ?? -1);
        w.WriteI32(PeerPort ?? -1);
        w.WriteI32(FilePort ?? -1);
        w.WriteI64(RegisteredAt);
        w.WriteI64(LastHeartbeat);
        w.WriteBool(Revoked);
        w.WriteI64(RevokedAt ?? -1);
        w.WriteOptionalString(RevokeReason);
    }
}
