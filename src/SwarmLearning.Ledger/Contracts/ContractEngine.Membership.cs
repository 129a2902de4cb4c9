using SwarmLearning.Identity;
using SwarmLearning.Ledger.Transactions;

namespace SwarmLearning.Ledger.Contracts;

// Membership: register (any identity the genesis CAs vouch for, with the role its certificate carries), heartbeat,
// revoke (an administrator, or the member itself; for good).
internal sealed partial class ContractEngine
{
    private static void ApplyRegister(LedgerState state, Transaction tx, List<LedgerEvent> events)
    {
        var payload = ParsePayload(tx, PayloadJson.Default.RegisterPayload);
        var member = ValidateRegistration(state, tx.Sender, payload, $"member.register from {tx.Sender.Short}");
        if (state.Members.TryGetValue(tx.Sender, out var existing))
        {
            if (existing.Revoked)
            {
                throw new TransactionRejectedException(RejectionKind.Forbidden, $"member.register: '{existing.Name}' was revoked and cannot register again; issue a new identity");
            }

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

        if (!state.Members.TryGetValue(target, out var member))
        {
            throw new TransactionRejectedException(RejectionKind.NotFound, $"member.revoke: no member has fingerprint {target}");
        }

        if (member.Revoked)
        {
            throw new TransactionRejectedException(RejectionKind.Conflict, $"member.revoke: '{member.Name}' is already revoked");
        }

        if (target == state.Orderer)
        {
            throw new TransactionRejectedException(RejectionKind.Forbidden, $"member.revoke: '{member.Name}' orders the blocks of this swarm; revoking it would stop the ledger");
        }

        member.Revoked = true;
        member.RevokedAt = state.Time;
        member.RevokeReason = payload.Reason;
        _keys.Remove(target);
        events.Add(new LedgerEvent(state.Height, state.Time, "member.revoked", null, null, target.ToString(),
            $"{SwarmRoles.ToName(member.Role)} '{member.Name}' revoked by '{sender.Name}'{(payload.Reason is null ? "" : $": {payload.Reason}")}"));

        // A revoked node leaves every round it was waiting in, and cannot lead.
        foreach (var contract in state.Contracts.Values)
        {
            if (contract.Round.Phase == RoundPhase.Collecting)
            {
                contract.Round.Ready.Remove(target);
            }

            EvaluateRound(state, contract, events);
        }
    }
}
