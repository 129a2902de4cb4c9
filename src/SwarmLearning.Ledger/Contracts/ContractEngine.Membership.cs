using SwarmLearning.Identity;
using SwarmLearning.Ledger.Transactions;

namespace SwarmLearning.Ledger.Contracts;

// Membership: enrol (administrators admit an identity by fingerprint, role and name), register (an enrolled identity the
// genesis CAs vouch for, with the role its certificate carries), heartbeat, revoke (an administrator, or the member
// itself; for good, and it takes the revoked node out of the current rounds). Rotation is in ContractEngine.Rotation.cs.
internal sealed partial class ContractEngine
{
    private static void ApplyRegister(LedgerState state, Transaction tx, List<LedgerEvent> events)
    {
        var payload = ParsePayload(tx, PayloadJson.Default.RegisterPayload);
        var member = ValidateRegistration(state, tx.Sender, payload, $"member.register from {tx.Sender.Short}");
        if (state.Members.TryGetValue(tx.Sender, out var existing) && existing.Revoked)
        {
            throw new TransactionRejectedException(RejectionKind.Forbidden, $"member.register: '{existing.Name}' was revoked and cannot register again; issue a new identity");
        }

        RequireEnrolled(state, member);
        if (existing is not null)
        {
            // Registering again updates the addresses (an SN that restarts on other ports), keeps the history.
            member = new MemberState
            {
                Fingerprint = member.Fingerprint,
                Role = member.Role,
                Name = member.Name,
                Certificate = member.Certificate,
                NotAfter = member.NotAfter,
                Host = member.Host,
                ApiPort = member.ApiPort,
                PeerPort = member.PeerPort,
                FilePort = member.FilePort,
                RegisteredAt = existing.RegisteredAt,
                LastHeartbeat = state.Time,
            };
        }

        state.Members[tx.Sender] = member;
        events.Add(new LedgerEvent(state.Height, state.Time, existing is null ? "member.registered" : "member.updated", null, null, tx.Sender.ToString(),
            $"{SwarmRoles.ToName(member.Role)} '{member.Name}' {(existing is null ? "joined" : "updated its addresses")}{(member.Host is null ? "" : $" at {member.Host}")}"));
    }

    /// <summary>Validates a registration against the genesis CAs at block time; returns the member it would create.</summary>
    private static MemberState ValidateRegistration(LedgerState state, Fingerprint sender, RegisterPayload payload, string what)
    {
        var der = DecodeBase64(payload.Certificate, $"{what}: certificate");
        if (Fingerprint.Of(der) != sender)
        {
            throw new TransactionRejectedException(RejectionKind.BadSignature, $"{what}: the sender is not the fingerprint of the certificate in the payload");
        }

        if (!SwarmRoles.TryParse(payload.Role, out var role))
        {
            throw new TransactionRejectedException($"{what}: role \"{Truncate(payload.Role)}\" is not one of sn, sl, swci, swop");
        }

        using var certificate = ParseCertificate(payload.Certificate, $"{what}: certificate");
        var check = state.Trust.Validate(certificate, DateTimeOffset.FromUnixTimeMilliseconds(state.Time), role);
        if (!check.IsValid)
        {
            throw new TransactionRejectedException(RejectionKind.Forbidden, $"{what}: {check.Reason}");
        }

        if (!string.Equals(check.Name, payload.Name, StringComparison.Ordinal))
        {
            throw new TransactionRejectedException($"{what}: name \"{Truncate(payload.Name)}\" is not the certificate's name \"{check.Name}\"");
        }

        RequireText(payload.Host, $"{what}: host", 253);
        foreach (var (port, field) in new[] { (payload.ApiPort, "apiPort"), (payload.PeerPort, "peerPort"), (payload.FilePort, "filePort") })
        {
            if (port is < 1 or > 65535)
            {
                throw new TransactionRejectedException($"{what}: {field} {port} is not a TCP port (1–65535)");
            }
        }

        return new MemberState
        {
            Fingerprint = sender,
            Role = role,
            Name = check.Name,
            Certificate = der,
            NotAfter = new DateTimeOffset(certificate.NotAfter.ToUniversalTime()).ToUnixTimeMilliseconds(),
            Host = payload.Host,
            ApiPort = payload.ApiPort,
            PeerPort = payload.PeerPort,
            FilePort = payload.FilePort,
            RegisteredAt = state.Time,
            LastHeartbeat = state.Time,
        };
    }

    /// <summary>Refuses the registration of an identity that is not enrolled, is revoked, or is not what its enrolment says.</summary>
    private static void RequireEnrolled(LedgerState state, MemberState member)
    {
        var who = $"{SwarmRoles.ToName(member.Role)} '{member.Name}' (fingerprint {member.Fingerprint})";
        if (state.AdmissionRefusal(member.Fingerprint, who) is { } refusal)
        {
            throw new TransactionRejectedException(RejectionKind.Forbidden, $"member.register: {refusal}");
        }

        if (state.Enrolments.TryGetValue(member.Fingerprint, out var enrolment)
            && ((enrolment.Role is { } role && role != member.Role) || (enrolment.Name is { } name && name != member.Name)))
        {
            throw new TransactionRejectedException(RejectionKind.Forbidden,
                $"member.register: {who} was enrolled as {SwarmRoles.ToName(enrolment.Role ?? member.Role)} '{enrolment.Name ?? member.Name}', which is not what its certificate says; an administrator must revoke the enrolment and enrol the certificate itself ('swarm ctl enrol CERTFILE')");
        }
    }

    /// <summary>An administrator enrols an identity: from this block on it may connect to the swarm's nodes and register.</summary>
    private static void ApplyEnrol(LedgerState state, Transaction tx, MemberState sender, List<LedgerEvent> events)
    {
        if (!state.Genesis.RequireEnrolment)
        {
            throw new TransactionRejectedException(RejectionKind.Conflict,
                $"member.enrol: swarm '{state.Genesis.Swarm}' was created before enrolment existed and admits every identity of its CAs; there is nothing to enrol");
        }

        if (!state.IsAdministrator(sender.Fingerprint))
        {
            throw new TransactionRejectedException(RejectionKind.Forbidden,
                $"member.enrol: '{sender.Name}' is not an administrator; only administrators may enrol identities (the sentinel, and those genesis names with 'swarm sn --sentinel --admin')");
        }

        var payload = ParsePayload(tx, PayloadJson.Default.EnrolPayload);
        var enrolment = ValidateEnrolment(payload, sender.Fingerprint, state.Time, "member.enrol");
        if (state.Rotations.TryGetValue(enrolment.Fingerprint, out var rotation))
        {
            throw new TransactionRejectedException(RejectionKind.Forbidden,
                $"member.enrol: {enrolment.Fingerprint.Short} was rotated to {rotation.New.Short} in block {rotation.Height} and is retired for good; its holder uses the new certificate");
        }

        if (state.Enrolments.TryGetValue(enrolment.Fingerprint, out var existing) || state.Members.ContainsKey(enrolment.Fingerprint))
        {
            var name = existing?.Name ?? state.Members[enrolment.Fingerprint].Name;
            throw existing?.Revoked == true || state.Members.GetValueOrDefault(enrolment.Fingerprint)?.Revoked == true
                ? new TransactionRejectedException(RejectionKind.Forbidden, $"member.enrol: '{name}' ({enrolment.Fingerprint.Short}) was revoked, for good; issue a new identity and enrol that")
                : new TransactionRejectedException(RejectionKind.Conflict, $"member.enrol: '{name}' ({enrolment.Fingerprint.Short}) is already enrolled");
        }

        state.Enrolments.Add(enrolment.Fingerprint, enrolment);
        events.Add(new LedgerEvent(state.Height, state.Time, "member.enrolled", null, null, enrolment.Fingerprint.ToString(),
            $"{SwarmRoles.ToName(enrolment.Role!.Value)} '{enrolment.Name}' enrolled by '{sender.Name}'{(payload.Note is null ? "" : $": {payload.Note}")}"));
    }

    private static EnrolmentState ValidateEnrolment(EnrolPayload? payload, Fingerprint by, long time, string what)
    {
        if (payload is null)
        {
            throw new TransactionRejectedException($"{what}: an enrolment must be an object, not null");
        }

        var fingerprint = ParseFingerprint(payload.Fingerprint, $"{what}: fingerprint");
        if (!SwarmRoles.TryParse(payload.Role, out var role))
        {
            throw new TransactionRejectedException($"{what}: role \"{Truncate(payload.Role)}\" is not one of sn, sl, swci, swop");
        }

        RequireName(payload.Name, $"{what}: name");
        RequireText(payload.Note, $"{what}: note");
        return new EnrolmentState { Fingerprint = fingerprint, Role = role, Name = payload.Name, Note = payload.Note, EnrolledBy = by, EnrolledAt = time };
    }

    /// <summary>
    /// A genesis that requires enrolment enrols the identities it lists, the orderer and the administrators (these by
    /// fingerprint only: any role and name).
    /// </summary>
    private static void AddGenesisEnrolments(LedgerState state, GenesisPayload payload, MemberState orderer)
    {
        if (!payload.RequireEnrolment)
        {
            if (payload.Enrolled.Count > 0)
            {
                throw new TransactionRejectedException("genesis: 'enrolled' lists identities, but 'requireEnrolment' is false");
            }

            return;
        }

        if (payload.Enrolled.Count > StringListConverter.MaxEntries)
        {
            throw new TransactionRejectedException($"genesis: 'enrolled' has more than {StringListConverter.MaxEntries} entries");
        }

        foreach (var (entry, i) in payload.Enrolled.Select((e, i) => (e, i)))
        {
            var enrolment = ValidateEnrolment(entry, orderer.Fingerprint, state.Time, $"genesis: enrolled[{i}]");
            if (!state.Enrolments.TryAdd(enrolment.Fingerprint, enrolment))
            {
                throw new TransactionRejectedException($"genesis: enrolled[{i}]: fingerprint {enrolment.Fingerprint.Short} is listed twice");
            }
        }

        state.Enrolments.TryAdd(orderer.Fingerprint, new EnrolmentState
        {
            Fingerprint = orderer.Fingerprint,
            Role = orderer.Role,
            Name = orderer.Name,
            Note = "the sentinel",
            EnrolledBy = orderer.Fingerprint,
            EnrolledAt = state.Time,
        });
        foreach (var admin in state.Administrators)
        {
            state.Enrolments.TryAdd(admin, new EnrolmentState { Fingerprint = admin, Note = "administrator named in genesis", EnrolledBy = orderer.Fingerprint, EnrolledAt = state.Time });
        }
    }

    private static void ApplyHeartbeat(LedgerState state, Transaction tx, MemberState sender)
    {
        if (!tx.Payload.Span.Trim(" \t\r\n"u8).SequenceEqual("{}"u8))
        {
            ParsePayload(tx, PayloadJson.Default.EmptyPayload);
        }

        sender.LastHeartbeat = state.Time;
    }

    private void ApplyRevoke(LedgerState state, Transaction tx, MemberState sender, List<LedgerEvent> events)
    {
        var payload = ParsePayload(tx, PayloadJson.Default.RevokePayload);
        var target = ParseFingerprint(payload.Member, "member.revoke: member");
        RequireText(payload.Reason, "member.revoke: reason");
        if (target != sender.Fingerprint && !state.IsAdministrator(sender.Fingerprint))
        {
            throw new TransactionRejectedException(RejectionKind.Forbidden, $"member.revoke: '{sender.Name}' is not an administrator; only administrators may revoke other members");
        }

        if (state.Rotations.TryGetValue(target, out var rotation))
        {
            var rotated = state.Members.TryGetValue(target, out var m) ? $"'{m.Name}' ({target.Short})" : target.Short;
            throw new TransactionRejectedException(RejectionKind.Conflict,
                $"member.revoke: {rotated} was rotated to {rotation.New.Short} in block {rotation.Height}, so its old certificate is refused already; to remove the member revoke {state.Resolve(target)}");
        }

        state.Members.TryGetValue(target, out var member);
        state.Enrolments.TryGetValue(target, out var enrolment);
        if (member is null && enrolment is null)
        {
            throw new TransactionRejectedException(RejectionKind.NotFound, $"member.revoke: no member or enrolled identity has fingerprint {target}");
        }

        var name = member?.Name ?? enrolment!.Name ?? target.Short;
        if (member?.Revoked == true || enrolment?.Revoked == true)
        {
            throw new TransactionRejectedException(RejectionKind.Conflict, $"member.revoke: '{name}' is already revoked");
        }

        if (target == state.Orderer)
        {
            throw new TransactionRejectedException(RejectionKind.Forbidden, $"member.revoke: '{name}' orders the blocks of this swarm; revoking it would stop the ledger");
        }

        if (member is not null)
        {
            member.Revoked = true;
            member.RevokedAt = state.Time;
            member.RevokeReason = payload.Reason;
        }

        if (enrolment is not null)
        {
            enrolment.Revoked = true;
            enrolment.RevokedAt = state.Time;
            enrolment.RevokeReason = payload.Reason;
        }

        _keys.Remove(target);
        var role = member?.Role ?? enrolment!.Role;
        events.Add(new LedgerEvent(state.Height, state.Time, "member.revoked", null, null, target.ToString(),
            $"{(role is { } r ? SwarmRoles.ToName(r) : "identity")} '{name}' revoked by '{sender.Name}'{(payload.Reason is null ? "" : $": {payload.Reason}")}"));

        // A revoked node leaves every round it takes part in: it is no longer ready in a collecting round, and in a
        // closed round its submission (if any) is dropped so no leader merges it, and nobody waits for it. It cannot
        // lead: a revoked leader is replaced at once (EvaluateRound).
        foreach (var contract in state.Contracts.Values)
        {
            var round = contract.Round;
            if (round.Phase == RoundPhase.Collecting)
            {
                round.Ready.Remove(target);
            }
            else if (round.Participants.Remove(target))
            {
                if (round.Submissions.Remove(target))
                {
                    events.Add(new LedgerEvent(state.Height, state.Time, "round.submission.dropped", contract.Name, round.Number, target.ToString(),
                        $"the submission of revoked '{name}' to round {round.Number} of '{contract.Name}' is left out of the merge"));
                }
            }

            EvaluateRound(state, contract, events);
        }
    }
}
