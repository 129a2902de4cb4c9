using System.Text.Json;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Blocks;
using SwarmLearning.Ledger.Chain;
using SwarmLearning.Ledger.Contracts;
using SwarmLearning.Ledger.Transactions;

namespace SwarmLearning.Ledger.Tests.Contracts;

/// <summary>Issue 6 §2: only enrolled identities register; administrators enrol and revoke; revocation covers enrolments and pending submissions.</summary>
public sealed class EnrolmentContractTests : IDisposable
{
    private const long Second = 1000;
    private readonly TestSwarm _swarm = new(administrators: ["admin"]);

    public void Dispose() => _swarm.Dispose();

    private static long T(double seconds) => TestSwarm.T0 + (long)(seconds * Second);

    private Transaction Revoke(SwarmIdentity by, SwarmIdentity target, string? reason = null) =>
        _swarm.Tx(by, TransactionTypes.Revoke, new RevokePayload { Member = target.Fingerprint.ToString(), Reason = reason }, PayloadJson.Default.RevokePayload);

    [Fact]
    public void A_valid_certificate_that_is_not_enrolled_cannot_register_and_is_told_whom_to_ask()
    {
        var sl = _swarm.Identity("sl1", SwarmRole.Sl, enrol: false);
        var e = _swarm.Refused(T(1), _swarm.Register(sl));
        Assert.Equal(RejectionKind.Forbidden, e.Kind);
        Assert.Contains(sl.Fingerprint.ToString(), e.Message, StringComparison.Ordinal);
        Assert.Contains("not enrolled", e.Message, StringComparison.Ordinal);
        Assert.Contains("swarm ctl enrol", e.Message, StringComparison.Ordinal);
        Assert.NotNull(_swarm.State.AdmissionRefusal(sl.Fingerprint, "sl1"));
    }

    [Fact]
    public void An_administrator_enrols_an_identity_which_then_registers()
    {
        var sl = _swarm.Identity("sl1", SwarmRole.Sl, enrol: false);
        var events = _swarm.Apply(T(1), _swarm.Enrol(_swarm.Sentinel, sl, "site 1"));
        Assert.Contains(events, e => e.Kind == "member.enrolled" && e.Member == sl.Fingerprint.ToString());
        var enrolment = _swarm.State.Enrolments[sl.Fingerprint];
        Assert.Equal((SwarmRole.Sl, "sl1", "site 1", _swarm.Sentinel.Fingerprint), (enrolment.Role, enrolment.Name, enrolment.Note, enrolment.EnrolledBy));
        Assert.Null(_swarm.State.AdmissionRefusal(sl.Fingerprint, "sl1"));
        Assert.False(_swarm.State.Members.ContainsKey(sl.Fingerprint));

        _swarm.Apply(T(2), _swarm.Register(sl));
        Assert.True(_swarm.State.IsActive(sl.Fingerprint));
        Assert.Equal(RejectionKind.Conflict, _swarm.Refused(T(3), _swarm.Enrol(_swarm.Sentinel, sl)).Kind);
    }

    [Fact]
    public void Administrators_named_in_genesis_are_enrolled_and_may_enrol_others_but_other_members_may_not()
    {
        var admin = _swarm["admin"];
        _swarm.Apply(T(1), _swarm.Register(admin)); // enrolled by genesis, by fingerprint only
        var other = _swarm.Identity("sl2", SwarmRole.Sl, enrol: false);
        _swarm.Apply(T(2), _swarm.Enrol(admin, other));
        Assert.True(_swarm.State.Enrolments.ContainsKey(other.Fingerprint));

        var sl = _swarm.RegisterSl(1, T(3))[0];
        var stranger = _swarm.Identity("sl9", SwarmRole.Sl, enrol: false);
        var e = _swarm.Refused(T(4), _swarm.Enrol(sl, stranger));
        Assert.Equal(RejectionKind.Forbidden, e.Kind);
        Assert.Contains("not an administrator", e.Message, StringComparison.Ordinal);
        Assert.Equal(RejectionKind.Forbidden, _swarm.Refused(T(4), Revoke(sl, other)).Kind);
    }

    [Fact]
    public void The_sentinel_is_an_administrator_whether_genesis_names_it_or_not()
    {
        using var swarm = new TestSwarm();
        Assert.Empty(swarm.State.Administrators);
        Assert.True(swarm.State.IsAdministrator(swarm.Sentinel.Fingerprint));
        var sl = swarm.RegisterSl(1)[0];
        swarm.Apply(TestSwarm.T0 + 10, swarm.Tx(swarm.Sentinel, TransactionTypes.Revoke, new RevokePayload { Member = sl.Fingerprint.ToString() }, PayloadJson.Default.RevokePayload));
        Assert.True(swarm.State.Members[sl.Fingerprint].Revoked);
    }

    [Fact]
    public void A_registration_whose_certificate_is_not_what_the_enrolment_says_is_refused()
    {
        var sl = _swarm.Identity("sl1", SwarmRole.Sl, enrol: false);
        var wrong = _swarm.Tx(_swarm.Sentinel, TransactionTypes.Enrol,
            new EnrolPayload { Fingerprint = sl.Fingerprint.ToString(), Role = "swop", Name = "sl1" }, PayloadJson.Default.EnrolPayload);
        _swarm.Apply(T(1), wrong);
        var e = _swarm.Refused(T(2), _swarm.Register(sl));
        Assert.Equal(RejectionKind.Forbidden, e.Kind);
        Assert.Contains("enrolled as swop 'sl1'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Revoking_an_enrolled_identity_before_it_registers_keeps_it_out_for_good()
    {
        var sl = _swarm.Identity("sl1", SwarmRole.Sl);
        _swarm.Apply(T(1), Revoke(_swarm.Sentinel, sl, "key leaked"));
        Assert.True(_swarm.State.Enrolments[sl.Fingerprint].Revoked);
        var refusal = _swarm.Refused(T(2), _swarm.Register(sl));
        Assert.Equal(RejectionKind.Forbidden, refusal.Kind);
        Assert.Contains("key leaked", refusal.Message, StringComparison.Ordinal);
        Assert.Equal(RejectionKind.Forbidden, _swarm.Refused(T(2), _swarm.Enrol(_swarm.Sentinel, sl)).Kind);
        Assert.Contains("revoked", _swarm.State.AdmissionRefusal(sl.Fingerprint, "sl1"), StringComparison.Ordinal);
    }

    [Fact]
    public void Revoking_a_member_also_revokes_its_enrolment_and_refuses_its_every_transaction()
    {
        var sl = _swarm.RegisterSl(1, T(0))[0];
        _swarm.Apply(T(1), Revoke(_swarm.Sentinel, sl));
        Assert.True(_swarm.State.Enrolments[sl.Fingerprint].Revoked);
        Assert.Equal(RejectionKind.Forbidden, _swarm.Refused(T(2), _swarm.Heartbeat(sl)).Kind);
        Assert.Equal(RejectionKind.Forbidden, _swarm.Refused(T(2), _swarm.Ready(sl, 1)).Kind);
    }

    [Fact]
    public void Enrolment_payloads_are_checked_before_anything_changes()
    {
        var bad = _swarm.Tx(_swarm.Sentinel, TransactionTypes.Enrol, new EnrolPayload { Fingerprint = "abc", Role = "sl", Name = "x" }, PayloadJson.Default.EnrolPayload);
        Assert.Contains("not a fingerprint", _swarm.Refused(T(1), bad).Message, StringComparison.Ordinal);
        var sl = _swarm.Identity("sl1", SwarmRole.Sl, enrol: false);
        var role = _swarm.Tx(_swarm.Sentinel, TransactionTypes.Enrol, new EnrolPayload { Fingerprint = sl.Fingerprint.ToString(), Role = "king", Name = "x" }, PayloadJson.Default.EnrolPayload);
        Assert.Contains("role", _swarm.Refused(T(1), role).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Genesis_may_enrol_identities_from_the_start()
    {
        using var ca = CertificateAuthority.Create("g", TimeSpan.FromDays(3650), DateTimeOffset.FromUnixTimeMilliseconds(TestSwarm.T0 - 86_400_000));
        using var sentinel = ca.Issue(SwarmRole.Sn, "sn0", ["localhost"], TimeSpan.FromDays(365), DateTimeOffset.FromUnixTimeMilliseconds(TestSwarm.T0 - 1000));
        using var sl = ca.Issue(SwarmRole.Sl, "sl1", ["localhost"], TimeSpan.FromDays(365), DateTimeOffset.FromUnixTimeMilliseconds(TestSwarm.T0 - 1000));
        var genesis = Genesis.Create(sentinel, "g", [ca.Certificate], [], new LedgerDefaults(), null, null, null, DateTimeOffset.FromUnixTimeMilliseconds(TestSwarm.T0),
            [new EnrolPayload { Fingerprint = sl.Fingerprint.ToString(), Role = "sl", Name = "sl1", Note = "site 1" }]);
        var (state, _) = ChainVerifier.VerifyGenesis(genesis, null);
        Assert.True(state.Genesis.RequireEnrolment);
        Assert.Equal("site 1", state.Enrolments[sl.Fingerprint].Note);
        Assert.Equal(SwarmRole.Sn, state.Enrolments[sentinel.Fingerprint].Role);
        Assert.Null(state.AdmissionRefusal(sl.Fingerprint, "sl1"));
    }

    [Fact]
    public void A_swarm_whose_genesis_predates_enrolment_keeps_admitting_any_identity_of_its_CA_and_its_state_encoding()
    {
        // A genesis as written before enrolment existed: the same JSON without requireEnrolment and enrolled.
        var node = System.Text.Json.Nodes.JsonNode.Parse(JsonSerializer.SerializeToUtf8Bytes(_swarm.State.Genesis, PayloadJson.Default.GenesisPayload))!.AsObject();
        Assert.True(node.Remove("requireEnrolment"));
        Assert.True(node.Remove("enrolled"));
        var json = JsonSerializer.SerializeToUtf8Bytes(node);
        Assert.False(JsonSerializer.Deserialize(json, PayloadJson.Default.GenesisPayload)!.RequireEnrolment);

        var tx = Transaction.Create(_swarm.Sentinel, new byte[Transaction.ChainIdSize], TransactionTypes.Genesis, 0, json);
        var state = ContractEngine.CreateGenesisState(tx, TestSwarm.T0, []);
        state.Height = 0;
        var block = Block.Create(_swarm.Sentinel, 0, new byte[Block.HashSize], TestSwarm.T0, [tx], state.ComputeHash());
        var (verified, _) = ChainVerifier.VerifyGenesis(block, null);
        Assert.Empty(verified.Enrolments);
        var w = new Serialization.LedgerWriter(4096);
        verified.WriteTo(w);
        Assert.Equal(1, w.WrittenSpan[4]); // the state encoding of version 1, as before enrolment: old chains' state hashes still verify

        using var sl = _swarm.Ca.Issue(SwarmRole.Sl, "old1", ["localhost"], TimeSpan.FromDays(30), DateTimeOffset.FromUnixTimeMilliseconds(TestSwarm.T0 - 1000));
        Assert.Null(verified.AdmissionRefusal(sl.Fingerprint, "old1"));
        var register = Transaction.Create(sl, verified.ChainId.Span, TransactionTypes.Register, 1, JsonSerializer.SerializeToUtf8Bytes(new RegisterPayload
        {
            Role = "sl",
            Name = "old1",
            Certificate = Convert.ToBase64String(sl.Certificate.RawData),
        }, PayloadJson.Default.RegisterPayload));
        var engine = new ContractEngine();
        var draft = verified.Clone();
        ContractEngine.BeginBlock(draft, 1, TestSwarm.T0 + 10, []);
        engine.VerifySignature(draft, register);
        engine.Apply(draft, register, []);
        Assert.True(draft.Members.ContainsKey(sl.Fingerprint));

        var enrol = Transaction.Create(_swarm.Sentinel, verified.ChainId.Span, TransactionTypes.Enrol, 1, JsonSerializer.SerializeToUtf8Bytes(
            new EnrolPayload { Fingerprint = sl.Fingerprint.ToString(), Role = "sl", Name = "old1" }, PayloadJson.Default.EnrolPayload));
        engine.VerifySignature(draft, enrol);
        Assert.Equal(RejectionKind.Conflict, Assert.Throws<TransactionRejectedException>(() => engine.Apply(draft, enrol, [])).Kind);
    }

    [Fact]
    public void A_revoked_participants_submission_leaves_the_round_and_a_merge_that_names_it_is_refused()
    {
        var ids = _swarm.RegisterSl(3, T(0));
        _swarm.Apply(T(1), [.. ids.Select(i => _swarm.Ready(i, 1, minPeers: 3))]);
        var round = _swarm.Contract().Round;
        Assert.Equal(RoundPhase.Closed, round.Phase);
        var leader = ids.Single(i => i.Fingerprint == round.Leader);
        var revoked = ids.First(i => i != leader);
        _swarm.Apply(T(2), [.. ids.Select((i, n) => _swarm.Submit(i, 1, TestSwarm.Hash((char)('a' + n))))]);

        var events = _swarm.Apply(T(3), Revoke(_swarm.Sentinel, revoked, "poisoning"));
        round = _swarm.Contract().Round;
        Assert.DoesNotContain(revoked.Fingerprint, round.Submissions.Keys);
        Assert.DoesNotContain(revoked.Fingerprint, round.Participants);
        Assert.Contains(events, e => e.Kind == "round.submission.dropped" && e.Member == revoked.Fingerprint.ToString());
        Assert.Equal(leader.Fingerprint, round.Leader); // the leader was not revoked: it stays

        var withRevoked = _swarm.Refused(T(4), _swarm.Merged(leader, 1, TestSwarm.Hash('f'), ids));
        Assert.Equal(RejectionKind.Conflict, withRevoked.Kind);
        Assert.Contains("revoked", withRevoked.Message, StringComparison.Ordinal);
        _swarm.Apply(T(4), _swarm.Merged(leader, 1, TestSwarm.Hash('f'), ids.Where(i => i != revoked)));
        Assert.DoesNotContain(revoked.Fingerprint, _swarm.Contract().LastMerged!.Contributors);
        Assert.Equal(2, _swarm.Contract().Round.Number);
    }
}
