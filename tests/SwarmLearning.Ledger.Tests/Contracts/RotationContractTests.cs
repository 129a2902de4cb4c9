using SwarmLearning.Identity;
using SwarmLearning.Ledger.Blocks;
using SwarmLearning.Ledger.Chain;
using SwarmLearning.Ledger.Contracts;
using SwarmLearning.Ledger.Serialization;
using SwarmLearning.Ledger.Transactions;

namespace SwarmLearning.Ledger.Tests.Contracts;

/// <summary>Issue 6 §1: <c>member.rotate</c> moves a member to a new certificate without an administrator, and retires the old one.</summary>
public sealed class RotationContractTests : IDisposable
{
    private const long Second = 1000;
    private readonly TestSwarm _swarm = new(administrators: ["admin"]);
    private readonly List<IDisposable> _owned = [];

    public void Dispose()
    {
        _owned.ForEach(o => o.Dispose());
        _swarm.Dispose();
    }

    private static long T(double seconds) => TestSwarm.T0 + (long)(seconds * Second);

    private SwarmIdentity Renewed(string name, SwarmRole role, CertificateAuthority? ca = null, long? notBefore = null, TimeSpan? validity = null)
    {
        var id = _swarm.Renewed(name, role, ca, notBefore, validity);
        _owned.Add(id);
        return id;
    }

    private Transaction Revoke(SwarmIdentity by, Fingerprint target) =>
        _swarm.Tx(by, TransactionTypes.Revoke, new RevokePayload { Member = target.ToString() }, PayloadJson.Default.RevokePayload);

    [Fact]
    public void A_member_rotates_to_a_new_certificate_which_inherits_its_membership_and_enrolment()
    {
        var old = _swarm.RegisterSl(1, T(0))[0];
        var next = Renewed("sl1", SwarmRole.Sl);
        var events = _swarm.Apply(T(1), _swarm.Rotate(old, next, "renewal"));

        var state = _swarm.State;
        Assert.Contains(events, e => e.Kind == "member.rotated" && e.Member == next.Fingerprint.ToString() && e.Message.Contains("renewal", StringComparison.Ordinal));
        var member = state.Members[next.Fingerprint];
        var before = state.Members[old.Fingerprint];
        Assert.Equal((SwarmRole.Sl, "sl1", before.Host, before.RegisteredAt, T(1)), (member.Role, member.Name, member.Host, member.RegisteredAt, member.LastHeartbeat));
        Assert.Equal(next.Certificate.RawData, member.Certificate);
        Assert.Equal((SwarmRole.Sl, "sl1", old.Fingerprint), (state.Enrolments[next.Fingerprint].Role, state.Enrolments[next.Fingerprint].Name, state.Enrolments[next.Fingerprint].EnrolledBy));
        var rotation = state.Rotations[old.Fingerprint];
        Assert.Equal((next.Fingerprint, state.Height, T(1), "renewal"), (rotation.New, rotation.Height, rotation.At, rotation.Reason));
        Assert.Equal(next.Fingerprint, state.Resolve(old.Fingerprint));
        Assert.Equal(old.Fingerprint, state.RotatedFrom(next.Fingerprint));
        Assert.Equal(T(1), state.RetiredAt(old.Fingerprint));

        Assert.True(state.IsActive(next.Fingerprint));
        Assert.False(state.IsActive(old.Fingerprint));
        Assert.Null(state.AdmissionRefusal(next.Fingerprint, "sl1"));
        Assert.Contains("rotated", state.AdmissionRefusal(old.Fingerprint, "sl1"), StringComparison.Ordinal);

        // The new key heartbeats from sequence 1: it is a new sender.
        _swarm.Apply(T(2), _swarm.Heartbeat(next));
        Assert.Equal(T(2), _swarm.State.Members[next.Fingerprint].LastHeartbeat);
    }

    [Fact]
    public void After_a_rotation_every_transaction_of_the_old_key_is_refused_as_rotated()
    {
        var old = _swarm.RegisterSl(1, T(0))[0];
        var next = Renewed("sl1", SwarmRole.Sl);
        _swarm.Apply(T(1), _swarm.Rotate(old, next));
        foreach (var tx in new[] { _swarm.Heartbeat(old), _swarm.Ready(old, 1), _swarm.Register(old) })
        {
            var e = _swarm.Refused(T(2), tx);
            Assert.Equal(RejectionKind.Forbidden, e.Kind);
            Assert.Contains("rotated to the certificate with fingerprint " + next.Fingerprint.Short, e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_certificate_of_another_ca_is_refused()
    {
        var old = _swarm.RegisterSl(1, T(0))[0];
        using var otherCa = CertificateAuthority.Create("other", TimeSpan.FromDays(3650), DateTimeOffset.FromUnixTimeMilliseconds(TestSwarm.T0 - 86_400_000));
        var e = _swarm.Refused(T(1), _swarm.Rotate(old, Renewed("sl1", SwarmRole.Sl, otherCa)));
        Assert.Equal(RejectionKind.Forbidden, e.Kind);
        Assert.Contains("not issued by this swarm's CA", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_certificate_with_another_name_or_role_is_refused()
    {
        var old = _swarm.RegisterSl(1, T(0))[0];
        var name = _swarm.Refused(T(1), _swarm.Rotate(old, Renewed("sl9", SwarmRole.Sl)));
        Assert.Equal(RejectionKind.Forbidden, name.Kind);
        Assert.Contains("keeps the name", name.Message, StringComparison.Ordinal);

        var role = _swarm.Refused(T(1), _swarm.Rotate(old, Renewed("sl1", SwarmRole.Swop)));
        Assert.Equal(RejectionKind.Forbidden, role.Kind);
        Assert.Contains("keeps the role", role.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_certificate_outside_its_validity_at_block_time_is_refused()
    {
        var old = _swarm.RegisterSl(1, T(0))[0];
        var future = _swarm.Refused(T(1), _swarm.Rotate(old, Renewed("sl1", SwarmRole.Sl, notBefore: T(3600))));
        Assert.Contains("not valid before", future.Message, StringComparison.Ordinal);
        var expired = _swarm.Refused(T(1), _swarm.Rotate(old, Renewed("sl1", SwarmRole.Sl, notBefore: T(-7200), validity: TimeSpan.FromMinutes(30))));
        Assert.Contains("expired", expired.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_proof_not_signed_by_the_new_key_or_made_for_another_swarm_or_identity_is_refused()
    {
        var ids = _swarm.RegisterSl(2, T(0));
        var next = Renewed("sl1", SwarmRole.Sl);

        // The old key alone: a stolen key cannot move the identity to a certificate whose key the thief lacks.
        var byOld = _swarm.Refused(T(1), _swarm.Rotate(ids[0], next, prover: ids[0]));
        Assert.Equal(RejectionKind.BadSignature, byOld.Kind);
        Assert.Contains("proof does not verify", byOld.Message, StringComparison.Ordinal);

        var otherSwarm = new byte[32];
        otherSwarm[0] = 1;
        var payload = RotationProof.CreatePayload(ids[0], next, otherSwarm);
        Assert.Equal(RejectionKind.BadSignature, _swarm.Refused(T(1), _swarm.Tx(ids[0], TransactionTypes.Rotate, payload, PayloadJson.Default.RotatePayload)).Kind);

        // A proof made for sl2's rotation does not rotate sl1.
        var forSl2 = RotationProof.CreatePayload(ids[1], next, _swarm.State.ChainId.Span);
        Assert.Equal(RejectionKind.BadSignature, _swarm.Refused(T(1), _swarm.Tx(ids[0], TransactionTypes.Rotate, forSl2, PayloadJson.Default.RotatePayload)).Kind);

        var garbage = _swarm.Tx(ids[0], TransactionTypes.Rotate, payload with { Proof = "not base64!" }, PayloadJson.Default.RotatePayload);
        Assert.Contains("proof", _swarm.Refused(T(1), garbage).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_revoked_member_cannot_rotate()
    {
        var old = _swarm.RegisterSl(1, T(0))[0];
        _swarm.Apply(T(1), Revoke(_swarm.Sentinel, old.Fingerprint));
        var e = _swarm.Refused(T(2), _swarm.Rotate(old, Renewed("sl1", SwarmRole.Sl)));
        Assert.Equal(RejectionKind.Forbidden, e.Kind);
        Assert.Contains("revoked", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_identity_that_is_not_a_member_cannot_rotate()
    {
        var enrolled = _swarm.Identity("sl1", SwarmRole.Sl); // enrolled, never registered
        var e = _swarm.Refused(T(1), _swarm.Rotate(enrolled, Renewed("sl1", SwarmRole.Sl)));
        Assert.Contains("not a member", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_replayed_rotation_and_a_second_rotation_of_the_same_certificate_are_refused()
    {
        var ids = _swarm.RegisterSl(1, T(0));
        var next = Renewed("sl1", SwarmRole.Sl);
        var rotate = _swarm.Rotate(ids[0], next);
        _swarm.Apply(T(1), rotate);

        var replay = _swarm.Refused(T(2), rotate);
        Assert.Equal(RejectionKind.Replay, replay.Kind);

        // The old key, freshly numbered, to yet another certificate: retired, so refused.
        var again = _swarm.Refused(T(2), _swarm.Rotate(ids[0], Renewed("sl1", SwarmRole.Sl)));
        Assert.Equal(RejectionKind.Forbidden, again.Kind);
        Assert.Contains("rotated", again.Message, StringComparison.Ordinal);

        // The new certificate rotating to itself, or another member rotating to a certificate the swarm knows.
        Assert.Equal(RejectionKind.Conflict, _swarm.Refused(T(2), _swarm.Rotate(next, next)).Kind);
        var sl2 = _swarm.Identity("sl2", SwarmRole.Sl);
        _swarm.Apply(T(2), _swarm.Register(sl2));
        var taken = _swarm.Refused(T(3), _swarm.Rotate(sl2, next));
        Assert.Equal(RejectionKind.Conflict, taken.Kind);
        Assert.Contains("already known", taken.Message, StringComparison.Ordinal);
        var retired = _swarm.Refused(T(3), _swarm.Rotate(next, ids[0]));
        Assert.Contains("already known", retired.Message, StringComparison.Ordinal);

        // The new certificate may rotate on, later.
        var third = Renewed("sl1", SwarmRole.Sl);
        _swarm.Apply(T(4), _swarm.Rotate(next, third));
        Assert.Equal(third.Fingerprint, _swarm.State.Resolve(ids[0].Fingerprint));
    }

    [Fact]
    public void A_retired_certificate_can_be_neither_enrolled_nor_revoked_again_but_its_successor_can_be_revoked()
    {
        var old = _swarm.RegisterSl(1, T(0))[0];
        var next = Renewed("sl1", SwarmRole.Sl);
        _swarm.Apply(T(1), _swarm.Rotate(old, next));
        Assert.Contains("retired", _swarm.Refused(T(2), _swarm.Enrol(_swarm.Sentinel, old)).Message, StringComparison.Ordinal);
        var revoke = _swarm.Refused(T(2), Revoke(_swarm.Sentinel, old.Fingerprint));
        Assert.Equal(RejectionKind.Conflict, revoke.Kind);
        Assert.Contains(next.Fingerprint.ToString(), revoke.Message, StringComparison.Ordinal);

        _swarm.Apply(T(3), Revoke(_swarm.Sentinel, next.Fingerprint));
        Assert.True(_swarm.State.Members[next.Fingerprint].Revoked);
    }

    [Fact]
    public void An_administrator_that_rotates_stays_an_administrator_and_its_old_certificate_does_not()
    {
        var admin = _swarm["admin"];
        _swarm.Apply(T(1), _swarm.Register(admin));
        var next = Renewed("admin", SwarmRole.Swci);
        _swarm.Apply(T(2), _swarm.Rotate(admin, next));
        Assert.True(_swarm.State.IsAdministrator(next.Fingerprint));
        Assert.False(_swarm.State.IsAdministrator(admin.Fingerprint));

        var sl = _swarm.Identity("sl5", SwarmRole.Sl, enrol: false);
        _swarm.Apply(T(3), _swarm.Enrol(next, sl));
        Assert.True(_swarm.State.Enrolments.ContainsKey(sl.Fingerprint));
    }

    [Fact]
    public void A_rotation_in_the_middle_of_a_round_keeps_the_ready_and_the_submission_and_the_merge_goes_through()
    {
        var ids = _swarm.RegisterSl(2, T(0));
        _swarm.Apply(T(1), [.. ids.Select(i => _swarm.Ready(i, 1, minPeers: 2))]);
        var round = _swarm.Contract().Round;
        Assert.Equal(RoundPhase.Closed, round.Phase);
        var leaderIndex = ids.FindIndex(i => i.Fingerprint == round.Leader);
        var leader = ids[leaderIndex];
        var other = ids[1 - leaderIndex];
        _swarm.Apply(T(2), _swarm.Submit(leader, 1, TestSwarm.Hash('a')), _swarm.Submit(other, 1, TestSwarm.Hash('b')));

        // The leader rotates after submitting: its turn and its submission move to the new fingerprint.
        var next = Renewed(leader.Name, SwarmRole.Sl);
        _swarm.Apply(T(3), _swarm.Rotate(leader, next));
        round = _swarm.Contract().Round;
        Assert.Equal(next.Fingerprint, round.Leader);
        Assert.Contains(next.Fingerprint, round.Participants);
        Assert.DoesNotContain(leader.Fingerprint, round.Participants);
        Assert.Equal(round.Participants.Order(), round.Participants);
        Assert.Equal(TestSwarm.Hash('a'), round.Submissions[next.Fingerprint].ModelHash);
        Assert.Contains(next.Fingerprint, _swarm.Contract().Joined);
        Assert.DoesNotContain(leader.Fingerprint, _swarm.Contract().Joined);

        // The old key may not merge; the new one may, even naming its contributors by the fingerprints it read before.
        Assert.Equal(RejectionKind.Forbidden, _swarm.Refused(T(4), _swarm.Merged(leader, 1, TestSwarm.Hash('f'), ids)).Kind);
        _swarm.Apply(T(4), _swarm.Merged(next, 1, TestSwarm.Hash('f'), ids));
        var merged = _swarm.Contract().LastMerged!;
        Assert.Equal(next.Fingerprint, merged.Leader);
        Assert.Equal(new[] { next.Fingerprint, other.Fingerprint }.Order(), merged.Contributors);

        // The next round ranks the new fingerprint.
        _swarm.Apply(T(5), _swarm.Ready(next, 2, minPeers: 2), _swarm.Ready(other, 2, minPeers: 2));
        var order = _swarm.Contract().Round.LeaderOrder;
        var expected = new[] { next.Fingerprint, other.Fingerprint }.OrderBy(f => ContractEngine.LeaderRank(LedgerDefaults.HpeDefaultContract, 2, f)).ToList();
        Assert.Equal(expected, order);
    }

    [Fact]
    public void A_rotation_while_collecting_keeps_the_node_ready()
    {
        var ids = _swarm.RegisterSl(2, T(0));
        _swarm.Apply(T(1), _swarm.Ready(ids[0], 1, minPeers: 2));
        var next = Renewed("sl1", SwarmRole.Sl);
        _swarm.Apply(T(2), _swarm.Rotate(ids[0], next));
        Assert.True(_swarm.Contract().Round.Ready.ContainsKey(next.Fingerprint));
        Assert.Equal(RejectionKind.Conflict, _swarm.Refused(T(3), _swarm.Ready(next, 1, minPeers: 2)).Kind); // already ready
        _swarm.Apply(T(3), _swarm.Ready(ids[1], 1, minPeers: 2));
        Assert.Equal(new[] { next.Fingerprint, ids[1].Fingerprint }.Order(), _swarm.Contract().Round.Participants);
    }

    [Fact]
    public void The_orderer_rotates_and_signs_from_the_next_block_on_with_its_new_key()
    {
        var next = Renewed("sn0", SwarmRole.Sn);
        _swarm.Apply(T(1), _swarm.Rotate(_swarm.Sentinel, next)); // signed by the old key: the rotation is not in force before its block
        Assert.Equal(next.Fingerprint, _swarm.State.Orderer);
        Assert.True(_swarm.State.IsAdministrator(next.Fingerprint));
        Assert.False(_swarm.State.IsAdministrator(_swarm.Sentinel.Fingerprint));

        var draft = _swarm.State.Clone();
        ContractEngine.BeginBlock(draft, _swarm.State.Height + 1, T(2), []);
        var byOld = Block.Create(_swarm.Sentinel, _swarm.State.Height + 1, _swarm.Head.Hash.Span, T(2), [], draft.ComputeHash());
        var e = Assert.Throws<BlockRejectedException>(() => new ChainVerifier().Verify(_swarm.State, _swarm.Head.Hash.Span, byOld));
        Assert.Contains("this swarm's orderer is 'sn0' (" + next.Fingerprint, e.Message, StringComparison.Ordinal);

        _swarm.Orderer = next;
        _swarm.Apply(T(2), _swarm.Heartbeat(next));
        Assert.Equal(T(2), _swarm.State.Members[next.Fingerprint].LastHeartbeat);
    }

    [Fact]
    public void A_state_without_rotations_encodes_as_before_and_one_with_a_rotation_as_version_3()
    {
        var old = _swarm.RegisterSl(1, T(0))[0];
        Assert.Equal(2, Encoded(_swarm.State)[4]);
        _swarm.Apply(T(1), _swarm.Rotate(old, Renewed("sl1", SwarmRole.Sl)));
        Assert.Equal(3, Encoded(_swarm.State)[4]);

        static byte[] Encoded(LedgerState state)
        {
            var w = new LedgerWriter(4096);
            state.WriteTo(w);
            return w.ToArray();
        }
    }

    [Fact]
    public void A_task_runner_targeting_an_operator_that_rotates_follows_it()
    {
        var swop = _swarm.Identity("swop1", SwarmRole.Swop);
        var admin = _swarm["admin"];
        _swarm.Apply(T(0), _swarm.Register(swop), _swarm.Register(admin));
        var next = Renewed("swop1", SwarmRole.Swop);
        _swarm.Apply(T(1), _swarm.Rotate(swop, next));
        _swarm.Apply(T(2),
            _swarm.Tx(admin, TransactionTypes.TaskCreate, new TaskPayload { Name = "t", TaskType = "RUN_SWARM", Author = "a", Prereq = "ROOTTASK", Outcome = "o", Body = System.Text.Json.JsonDocument.Parse("""{"Command":"model/mnist.py","Entrypoint":"python3"}""").RootElement.Clone() }, PayloadJson.Default.TaskPayload),
            _swarm.Tx(admin, TransactionTypes.TaskFinalize, new NamePayload { Name = "t" }, PayloadJson.Default.NamePayload),
            _swarm.Tx(admin, TransactionTypes.TaskRunnerAssign, new AssignPayload { Runner = LedgerDefaults.HpeDefaultTaskRunner, Task = "t", Target = swop.Fingerprint.ToString() }, PayloadJson.Default.AssignPayload));
        Assert.Equal(next.Fingerprint, _swarm.State.TaskRunners[LedgerDefaults.HpeDefaultTaskRunner].Target);
    }
}
