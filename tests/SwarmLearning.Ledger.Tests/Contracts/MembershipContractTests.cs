using System.Text.Json;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Contracts;
using SwarmLearning.Ledger.Transactions;

namespace SwarmLearning.Ledger.Tests.Contracts;

public sealed class MembershipContractTests : IDisposable
{
    private readonly TestSwarm _swarm = new(administrators: ["admin"]);

    public void Dispose() => _swarm.Dispose();

    [Fact]
    public void Genesis_registers_the_sentinel_as_orderer_and_creates_HPE_defaults()
    {
        var state = _swarm.State;
        Assert.Equal(_swarm.Sentinel.Fingerprint, state.Orderer);
        Assert.Equal(SwarmRole.Sn, state.Members[state.Orderer].Role);
        Assert.True(state.Contracts.ContainsKey("defaultbb.cqdb.sml.hpe"));
        Assert.True(state.TaskRunners.ContainsKey("defaulttaskbb.taskdb.sml.hpe"));
        Assert.True(state.IsAdministrator(_swarm["admin"].Fingerprint));
        Assert.Equal(0, state.Height);
    }

    [Fact]
    public void Register_with_a_certificate_of_the_swarm_CA_adds_an_active_member_with_its_role()
    {
        var sl = _swarm.Identity("sl1", SwarmRole.Sl);
        var events = _swarm.Apply(TestSwarm.T0 + 1000, _swarm.Register(sl, "host-a"));
        var member = _swarm.State.Members[sl.Fingerprint];
        Assert.Equal(SwarmRole.Sl, member.Role);
        Assert.Equal("sl1", member.Name);
        Assert.Equal("host-a", member.Host);
        Assert.True(_swarm.State.IsActive(sl.Fingerprint));
        Assert.Contains(events, e => e.Kind == "member.registered" && e.Member == sl.Fingerprint.ToString());
    }

    [Fact]
    public void Register_with_a_certificate_from_another_CA_is_forbidden()
    {
        using var otherCa = CertificateAuthority.Create("other", TimeSpan.FromDays(3650), DateTimeOffset.FromUnixTimeMilliseconds(TestSwarm.T0 - 86_400_000));
        using var stranger = otherCa.Issue(SwarmRole.Sl, "stranger", ["localhost"], TimeSpan.FromDays(30), DateTimeOffset.FromUnixTimeMilliseconds(TestSwarm.T0 - 1000));
        var e = _swarm.Refused(TestSwarm.T0 + 1000, _swarm.Register(stranger));
        Assert.Equal(RejectionKind.Forbidden, e.Kind);
        Assert.Contains("stranger", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Register_of_someone_elses_certificate_is_refused_as_a_bad_signature()
    {
        var a = _swarm.Identity("sl1", SwarmRole.Sl);
        var b = _swarm.Identity("sl2", SwarmRole.Sl);
        var tx = _swarm.Tx(a, TransactionTypes.Register, new RegisterPayload
        {
            Role = "sl",
            Name = "sl2",
            Certificate = Convert.ToBase64String(b.Certificate.RawData),
        }, PayloadJson.Default.RegisterPayload);
        Assert.Equal(RejectionKind.BadSignature, _swarm.Refused(TestSwarm.T0 + 1000, tx).Kind);
    }

    [Fact]
    public void Register_claiming_another_role_than_the_certificate_is_forbidden()
    {
        var sl = _swarm.Identity("sl1", SwarmRole.Sl);
        var tx = _swarm.Tx(sl, TransactionTypes.Register, new RegisterPayload
        {
            Role = "sn",
            Name = "sl1",
            Certificate = Convert.ToBase64String(sl.Certificate.RawData),
        }, PayloadJson.Default.RegisterPayload);
        var e = _swarm.Refused(TestSwarm.T0 + 1000, tx);
        Assert.Equal(RejectionKind.Forbidden, e.Kind);
    }

    [Fact]
    public void Register_after_the_certificate_expired_is_forbidden_by_block_time()
    {
        var sl = _swarm.Identity("sl1", SwarmRole.Sl); // valid for 365 days from T0 - 1 h
        var e = _swarm.Refused(TestSwarm.T0 + (400L * 86_400_000), _swarm.Register(sl));
        Assert.Equal(RejectionKind.Forbidden, e.Kind);
        Assert.Contains("expired", e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Member_goes_inactive_after_the_member_timeout_and_active_again_with_a_heartbeat()
    {
        var sl = _swarm.RegisterSl(1, TestSwarm.T0 + 1000)[0];
        _swarm.Apply(TestSwarm.T0 + 6000, _swarm.Heartbeat(_swarm.Sentinel)); // 5 s after registering: still active
        Assert.True(_swarm.State.IsActive(sl.Fingerprint));
        _swarm.Apply(TestSwarm.T0 + 6001, _swarm.Heartbeat(_swarm.Sentinel));
        Assert.False(_swarm.State.IsActive(sl.Fingerprint));
        _swarm.Apply(TestSwarm.T0 + 7000, _swarm.Heartbeat(sl));
        Assert.True(_swarm.State.IsActive(sl.Fingerprint));
        Assert.Equal(TestSwarm.T0 + 7000, _swarm.State.Members[sl.Fingerprint].LastHeartbeat);
    }

    [Fact]
    public void A_replayed_transaction_is_refused_and_so_is_a_lower_sequence_number()
    {
        var sl = _swarm.RegisterSl(1)[0];
        var heartbeat = _swarm.Heartbeat(sl);
        _swarm.Apply(TestSwarm.T0 + 100, heartbeat);
        var replay = _swarm.Refused(TestSwarm.T0 + 200, heartbeat);
        Assert.Equal(RejectionKind.Replay, replay.Kind);
        Assert.Contains("sequence", replay.Message, StringComparison.Ordinal);
        var older = _swarm.Tx(sl, TransactionTypes.Heartbeat, new EmptyPayload(), PayloadJson.Default.EmptyPayload, sequence: 1);
        Assert.Equal(RejectionKind.Replay, _swarm.Refused(TestSwarm.T0 + 200, older).Kind);

        // Gaps are allowed: a sender may skip numbers (a transaction refused by the contracts consumes none).
        _swarm.Apply(TestSwarm.T0 + 300, _swarm.Tx(sl, TransactionTypes.Heartbeat, new EmptyPayload(), PayloadJson.Default.EmptyPayload, sequence: 10));
        Assert.Equal(10UL, _swarm.State.Sequences[sl.Fingerprint]);
    }

    [Fact]
    public void A_transaction_from_a_non_member_is_refused()
    {
        var stranger = _swarm.Identity("sl9", SwarmRole.Sl);
        var e = _swarm.Refused(TestSwarm.T0 + 100, _swarm.Heartbeat(stranger));
        Assert.Equal(RejectionKind.BadSignature, e.Kind);
        Assert.Contains("not a member", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_forged_signature_is_refused()
    {
        var sl = _swarm.RegisterSl(1)[0];
        var tx = _swarm.Ready(sl, 1);
        var bytes = tx.Encoded.ToArray();
        var payloadAt = bytes.AsSpan().IndexOf("\"weight\":1"u8);
        bytes[payloadAt + 9] = (byte)'9'; // weight 1 -> 9, signature unchanged
        var forged = Transaction.Decode(bytes);
        var e = _swarm.Refused(TestSwarm.T0 + 100, forged);
        Assert.Equal(RejectionKind.BadSignature, e.Kind);
        Assert.Contains("forged", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_transaction_signed_for_another_swarm_is_refused()
    {
        var sl = _swarm.RegisterSl(1)[0];
        var tx = Transaction.Create(sl, new byte[32], TransactionTypes.Heartbeat, 5, "{}"u8);
        Assert.Equal(RejectionKind.Forbidden, _swarm.Refused(TestSwarm.T0 + 100, tx).Kind);
    }

    [Fact]
    public void An_administrator_revokes_a_member_for_good()
    {
        var admin = _swarm["admin"];
        var sl = _swarm.RegisterSl(1)[0];
        _swarm.Apply(TestSwarm.T0 + 10, _swarm.Register(admin));
        var events = _swarm.Apply(TestSwarm.T0 + 20, _swarm.Tx(admin, TransactionTypes.Revoke, new RevokePayload { Member = sl.Fingerprint.ToString(), Reason = "left the consortium" }, PayloadJson.Default.RevokePayload));
        Assert.Contains(events, e => e.Kind == "member.revoked");
        Assert.True(_swarm.State.Members[sl.Fingerprint].Revoked);
        Assert.False(_swarm.State.IsActive(sl.Fingerprint));

        var refused = _swarm.Refused(TestSwarm.T0 + 30, _swarm.Heartbeat(sl));
        Assert.Equal(RejectionKind.Forbidden, refused.Kind);
        Assert.Contains("revoked", refused.Message, StringComparison.Ordinal);
        Assert.Contains("left the consortium", refused.Message, StringComparison.Ordinal);
        Assert.Equal(RejectionKind.Forbidden, _swarm.Refused(TestSwarm.T0 + 30, _swarm.Register(sl)).Kind);
    }

    [Fact]
    public void Only_administrators_revoke_others_but_anyone_may_revoke_itself_and_nobody_the_orderer()
    {
        var ids = _swarm.RegisterSl(2);
        var admin = _swarm["admin"];
        _swarm.Apply(TestSwarm.T0 + 10, _swarm.Register(admin));
        RevokePayload Of(SwarmIdentity id) => new() { Member = id.Fingerprint.ToString() };
        Assert.Equal(RejectionKind.Forbidden, _swarm.Refused(TestSwarm.T0 + 20, _swarm.Tx(ids[0], TransactionTypes.Revoke, Of(ids[1]), PayloadJson.Default.RevokePayload)).Kind);
        Assert.Equal(RejectionKind.Forbidden, _swarm.Refused(TestSwarm.T0 + 20, _swarm.Tx(admin, TransactionTypes.Revoke, Of(_swarm.Sentinel), PayloadJson.Default.RevokePayload)).Kind);
        _swarm.Apply(TestSwarm.T0 + 30, _swarm.Tx(ids[0], TransactionTypes.Revoke, Of(ids[0]), PayloadJson.Default.RevokePayload));
        Assert.True(_swarm.State.Members[ids[0].Fingerprint].Revoked);
    }

    [Fact]
    public void Malformed_payloads_are_refused_with_the_field_named()
    {
        var sl = _swarm.RegisterSl(1)[0];
        var unknownField = Transaction.Create(sl, _swarm.State.ChainId.Span, TransactionTypes.RoundReady, 5,
            """{"contract":"defaultbb.cqdb.sml.hpe","round":1,"weight":1,"minPeers":1,"colour":"red"}"""u8);
        var e = _swarm.Refused(TestSwarm.T0 + 10, unknownField);
        Assert.Equal(RejectionKind.Invalid, e.Kind);
        Assert.Contains("colour", e.Message, StringComparison.Ordinal);

        var missing = Transaction.Create(sl, _swarm.State.ChainId.Span, TransactionTypes.RoundReady, 6, """{"contract":"defaultbb.cqdb.sml.hpe","round":1}"""u8);
        Assert.Contains("weight", _swarm.Refused(TestSwarm.T0 + 10, missing).Message, StringComparison.Ordinal);

        var notJson = Transaction.Create(sl, _swarm.State.ChainId.Span, TransactionTypes.RoundReady, 7, "{nope"u8);
        Assert.Equal(RejectionKind.Invalid, _swarm.Refused(TestSwarm.T0 + 10, notJson).Kind);

        var unknownType = Transaction.Create(sl, _swarm.State.ChainId.Span, "round.steal", 8, "{}"u8);
        Assert.Contains("unknown transaction type", _swarm.Refused(TestSwarm.T0 + 10, unknownType).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_state_hash_is_the_same_for_the_same_blocks_and_changes_with_any_transaction()
    {
        var copy = _swarm.State.Clone();
        Assert.Equal(_swarm.State.ComputeHash(), copy.ComputeHash());
        var before = _swarm.State.ComputeHash();
        _swarm.RegisterSl(1);
        Assert.NotEqual(before, _swarm.State.ComputeHash());
        Assert.Equal(before, copy.ComputeHash()); // the copy is independent
        _ = JsonSerializer.Serialize(_swarm.State, Serialization.LedgerJson.Options); // the API can show the state
    }
}
