using SwarmLearning.Identity;
using SwarmLearning.Ledger.Transactions;

namespace SwarmLearning.Ledger.Contracts;

// Certificate rotation (member.rotate): a member moves to a new certificate of the same role and name without an
// administrator. The old identity signs the transaction and the new key signs a proof (RotationProof), so both keys
// are needed. The state is re-keyed, one mechanism for everything: the new fingerprint takes the old one's place in
// the members, the enrolments, the orderer, the training contracts (joined, finished, progress, and the current round's
// ready set, participants, leader order and submissions, so a rotation in the middle of a round keeps the node's
// ready and submission) and the task runners. History stays as it was recorded (failovers, who created what). The old
// fingerprint is retired (LedgerState.Rotations): it may not connect or send anything again, like a revoked one.
internal sealed partial class ContractEngine
{
    private void ApplyRotate(LedgerState state, Transaction tx, MemberState sender, List<LedgerEvent> events)
    {
        var payload = ParsePayload(tx, PayloadJson.Default.RotatePayload);
        RequireText(payload.Reason, "member.rotate: reason");
        var who = $"{SwarmRoles.ToName(sender.Role)} '{sender.Name}'";
        var der = DecodeBase64(payload.Certificate, "member.rotate: certificate");
        var next = Fingerprint.Of(der);
        if (next == sender.Fingerprint)
        {
            throw new TransactionRejectedException(RejectionKind.Conflict, $"member.rotate: {who} already uses this certificate ({next.Short}); install a new one first");
        }

        if (state.Members.ContainsKey(next) || state.Enrolments.ContainsKey(next) || state.Rotations.ContainsKey(next) || state.Administrators.Contains(next))
        {
            throw new TransactionRejectedException(RejectionKind.Conflict,
                $"member.rotate: the certificate {next.Short} is already known to swarm '{state.Genesis.Swarm}' (a member, an enrolment or a retired certificate); a rotation needs a certificate the swarm has never seen: issue a new one");
        }

        using var certificate = ParseCertificate(payload.Certificate, "member.rotate: certificate");
        var check = state.Trust.Validate(certificate, DateTimeOffset.FromUnixTimeMilliseconds(state.Time));
        if (!check.IsValid)
        {
            throw new TransactionRejectedException(RejectionKind.Forbidden, $"member.rotate from {who}: the new certificate is refused: {check.Reason}");
        }

        if (check.Role != sender.Role)
        {
            throw new TransactionRejectedException(RejectionKind.Forbidden,
                $"member.rotate from {who}: the new certificate has role {SwarmRoles.ToName(check.Role)}; a rotation keeps the role, so issue one with --role {SwarmRoles.ToName(sender.Role)}");
        }

        if (!string.Equals(check.Name, sender.Name, StringComparison.Ordinal))
        {
            throw new TransactionRejectedException(RejectionKind.Forbidden,
                $"member.rotate from {who}: the new certificate is named '{check.Name}'; a rotation keeps the name, so issue one with --name {sender.Name}");
        }

        byte[] proof;
        try
        {
            proof = Convert.FromBase64String(payload.Proof);
        }
        catch (FormatException e)
        {
            throw new TransactionRejectedException("member.rotate: proof: not valid base64", e);
        }

        using (var key = LoadKey(der))
        {
            if (!RotationProof.Verify(key, state.ChainId.Span, sender.Fingerprint, next, proof))
            {
                throw new TransactionRejectedException(RejectionKind.BadSignature,
                    $"member.rotate from {who}: the proof does not verify with the new certificate's key; it must be the new key's signature of this swarm's chain id, the old and the new fingerprint (RotationProof)");
            }
        }

        var old = sender.Fingerprint;
        state.Members[next] = new MemberState
        {
            Fingerprint = next,
            Role = sender.Role,
            Name = sender.Name,
            Certificate = der,
            NotAfter = new DateTimeOffset(certificate.NotAfter.ToUniversalTime()).ToUnixTimeMilliseconds(),
            Host = sender.Host,
            ApiPort = sender.ApiPort,
            PeerPort = sender.PeerPort,
            FilePort = sender.FilePort,
            RegisteredAt = sender.RegisteredAt,
            LastHeartbeat = state.Time, // the rotation, signed by the member, is a sign of life
        };
        if (state.Enrolments.ContainsKey(old))
        {
            // The old enrolment stays as it was; the rotation retires it.
            state.Enrolments.Add(next, new EnrolmentState
            {
                Fingerprint = next,
                Role = sender.Role,
                Name = sender.Name,
                Note = $"rotated from {old.Short}",
                EnrolledBy = old,
                EnrolledAt = state.Time,
            });
        }

        state.Rotations.Add(old, new RotationState { Old = old, New = next, Height = state.Height, At = state.Time, Reason = payload.Reason });
        if (state.Orderer == old)
        {
            state.Orderer = next;
        }

        Rekey(state, old, next);
        _keys.Remove(old);
        events.Add(new LedgerEvent(state.Height, state.Time, "member.rotated", null, null, next.ToString(),
            $"{who} rotated its certificate from {old.Short} to {next.Short}{(payload.Reason is null ? "" : $" ({payload.Reason})")}; the old certificate is retired"));
    }

    /// <summary>Moves what <paramref name="old"/> holds in the contracts and task runners to <paramref name="next"/>.</summary>
    private static void Rekey(LedgerState state, Fingerprint old, Fingerprint next)
    {
        foreach (var contract in state.Contracts.Values)
        {
            if (contract.Joined.Remove(old))
            {
                contract.Joined.Add(next);
            }

            MoveKey(contract.Finished, old, next);
            MoveKey(contract.Progress, old, next);
            var round = contract.Round;
            MoveKey(round.Ready, old, next);
            MoveKey(round.Submissions, old, next);
            if (Replace(round.Participants, old, next))
            {
                round.Participants.Sort(); // participants are kept sorted by fingerprint
            }

            // The leader order keeps its places: it was fixed when the round closed, and the node leads (or not) in
            // the same turn under its new fingerprint. Later rounds rank the new fingerprint.
            Replace(round.LeaderOrder, old, next);
            if (contract.LastMerged is { } merged && (merged.Leader == old || merged.Contributors.Contains(old)))
            {
                var contributors = merged.Contributors.Select(f => f == old ? next : f).ToList();
                contributors.Sort();
                contract.LastMerged = merged with { Contributors = contributors, Leader = merged.Leader == old ? next : merged.Leader };
            }
        }

        foreach (var runner in state.TaskRunners.Values)
        {
            if (runner.Target == old)
            {
                runner.Target = next;
            }

            MoveKey(runner.Reports, old, next);
        }
    }

    private static void MoveKey<T>(SortedDictionary<Fingerprint, T> map, Fingerprint old, Fingerprint next)
    {
        if (map.Remove(old, out var value))
        {
            map.Add(next, value);
        }
    }

    private static bool Replace(List<Fingerprint> list, Fingerprint old, Fingerprint next)
    {
        var i = list.IndexOf(old);
        if (i < 0)
        {
            return false;
        }

        list[i] = next;
        return true;
    }
}
