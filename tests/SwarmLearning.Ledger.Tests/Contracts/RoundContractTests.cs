using SwarmLearning.Identity;
using SwarmLearning.Ledger.Contracts;
using SwarmLearning.Ledger.Transactions;

namespace SwarmLearning.Ledger.Tests.Contracts;

public sealed class RoundContractTests : IDisposable
{
    private const long Second = 1000;
    private readonly TestSwarm _swarm = new(administrators: ["admin"]);

    public void Dispose() => _swarm.Dispose();

    private static long T(double seconds) => TestSwarm.T0 + (long)(seconds * Second);

    /// <summary>Runs round 1 with every node, so they all count as joined; returns the nodes.</summary>
    private List<SwarmIdentity> CompleteFirstRound(int nodes)
    {
        var ids = _swarm.RegisterSl(nodes, T(0));
        _swarm.Apply(T(1), [.. ids.Select(i => _swarm.Ready(i, 1, minPeers: nodes))]);
        var round = _swarm.Contract().Round;
        Assert.Equal(RoundPhase.Closed, round.Phase);
        _swarm.Apply(T(2), [.. ids.Select((i, n) => _swarm.Submit(i, 1, TestSwarm.Hash((char)('a' + n))))]);
        var leader = ids.Single(i => i.Fingerprint == round.Leader);
        _swarm.Apply(T(3), _swarm.Merged(leader, 1, TestSwarm.Hash('f'), ids));
        Assert.Equal(2, _swarm.Contract().Round.Number);
        return ids;
    }

    private void Heartbeats(long time, IEnumerable<SwarmIdentity> ids) => _swarm.Apply(time, [.. ids.Select(_swarm.Heartbeat)]);

    [Fact]
    public void Round_closes_as_soon_as_min_peers_are_ready_and_every_active_member_is_ready()
    {
        var ids = _swarm.RegisterSl(2, T(0));
        _swarm.Apply(T(1), _swarm.Ready(ids[0], 1, minPeers: 2));
        Assert.Equal(RoundPhase.Collecting, _swarm.Contract().Round.Phase);
        Assert.Equal(ContractStatus.Running, _swarm.Contract().Status);
        var events = _swarm.Apply(T(1.5), _swarm.Ready(ids[1], 1, minPeers: 2));
        var round = _swarm.Contract().Round;
        Assert.Equal(RoundPhase.Closed, round.Phase);
        Assert.Equal(T(1.5), round.ClosedAt);
        Assert.Equal(ids.Select(i => i.Fingerprint).Order(), round.Participants);
        Assert.Contains(events, e => e.Kind == "round.closed");
    }

    [Fact]
    public void Round_waits_for_min_peers_however_long_it_takes()
    {
        var ids = _swarm.RegisterSl(3, T(0));
        _swarm.Apply(T(1), _swarm.Ready(ids[0], 1, minPeers: 3), _swarm.Ready(ids[1], 1, minPeers: 1));
        Heartbeats(T(100), ids);
        Assert.Equal(RoundPhase.Collecting, _swarm.Contract().Round.Phase);
        Assert.Null(_swarm.Contract().Round.QuorumAt); // 2 ready, the largest minPeers asked for is 3
        _swarm.Apply(T(101), _swarm.Ready(ids[2], 1, minPeers: 1));
        Assert.Equal(RoundPhase.Closed, _swarm.Contract().Round.Phase);
    }

    /// <summary>Heartbeats from <paramref name="ids"/> every 4 s from <paramref name="from"/> to <paramref name="to"/> (seconds), keeping them active.</summary>
    private void KeepAlive(double from, double to, IEnumerable<SwarmIdentity> ids)
    {
        for (var t = from; t <= to; t += 4)
        {
            Heartbeats(T(t), ids);
        }
    }

    [Fact]
    public void Round_closes_after_full_quorum_wait_with_min_peers_ready()
    {
        var ids = CompleteFirstRound(3); // all three joined the contract
        _swarm.Apply(T(4), _swarm.Ready(ids[0], 2, minPeers: 2), _swarm.Ready(ids[1], 2, minPeers: 2));
        Assert.Equal(T(4), _swarm.Contract().Round.QuorumAt);
        KeepAlive(4.5, 32.5, ids); // the third is alive, just slow
        Heartbeats(T(33.9), ids);
        Assert.Equal(RoundPhase.Collecting, _swarm.Contract().Round.Phase);
        Assert.Equal(T(34), ContractEngine.NextDeadline(_swarm.State));
        var events = _swarm.Apply(T(34), _swarm.Heartbeat(ids[2]));
        var round = _swarm.Contract().Round;
        Assert.Equal(RoundPhase.Closed, round.Phase);
        Assert.Equal(2, round.Participants.Count);
        Assert.DoesNotContain(ids[2].Fingerprint, round.Participants);
        Assert.Contains(events, e => e.Kind == "round.closed" && e.Message.Contains("full-quorum wait", StringComparison.Ordinal));

        // The late node joins from the next round: not a participant of this one.
        var late = _swarm.Refused(T(35), _swarm.Ready(ids[2], 2));
        Assert.Equal(RejectionKind.Conflict, late.Kind);
        Assert.Contains("join round 3", late.Message, StringComparison.Ordinal);
        Assert.Equal(RejectionKind.Forbidden, _swarm.Refused(T(35), _swarm.Submit(ids[2], 2, TestSwarm.Hash('c'))).Kind);
    }

    [Fact]
    public void An_empty_block_at_the_deadline_closes_the_round_as_time_passes()
    {
        var ids = CompleteFirstRound(3);
        _swarm.Apply(T(4), _swarm.Ready(ids[0], 2, minPeers: 2), _swarm.Ready(ids[1], 2, minPeers: 2));
        KeepAlive(4.5, 32.5, ids);
        _swarm.Apply(T(33.99));
        Assert.Equal(RoundPhase.Collecting, _swarm.Contract().Round.Phase);
        _swarm.Apply(T(34)); // no transaction: the orderer's tick at the deadline
        Assert.Equal(RoundPhase.Closed, _swarm.Contract().Round.Phase);
    }

    [Fact]
    public void A_member_without_heartbeat_does_not_hold_up_the_round()
    {
        var ids = CompleteFirstRound(3); // every last heartbeat is the registration at T(0)
        Heartbeats(T(5.5), ids.Take(2));
        _swarm.Apply(T(6), _swarm.Ready(ids[0], 2, minPeers: 2), _swarm.Ready(ids[1], 2, minPeers: 2));
        var round = _swarm.Contract().Round;
        Assert.Equal(RoundPhase.Closed, round.Phase); // ids[2] is inactive at T(6): no full-quorum wait for it
        Assert.Equal(T(6), round.ClosedAt);
    }

    [Fact]
    public void Leader_order_is_the_same_whatever_order_nodes_became_ready_in()
    {
        using var other = new TestSwarm();
        var a = _swarm.RegisterSl(4, T(0));
        var b = other.RegisterSl(4, T(0));
        _swarm.Apply(T(1), [.. a.Select(i => _swarm.Ready(i, 1, minPeers: 4))]);
        other.Apply(T(1), [.. b.AsEnumerable().Reverse().Select(i => other.Ready(i, 1, minPeers: 4))]);
        var orderA = _swarm.Contract().Round.LeaderOrder.Select(f => _swarm.State.Members[f].Name).ToList();
        var orderB = other.Contract().Round.LeaderOrder.Select(f => other.State.Members[f].Name).ToList();
        Assert.Equal(4, orderA.Count);
        Assert.Equal(
            a.OrderBy(i => ContractEngine.LeaderRank(LedgerDefaults.HpeDefaultContract, 1, i.Fingerprint)).Select(i => i.Name),
            orderA);

        // Different certificates (another CA) give another order, but by the same rule.
        Assert.Equal(
            b.OrderBy(i => ContractEngine.LeaderRank(LedgerDefaults.HpeDefaultContract, 1, i.Fingerprint)).Select(i => i.Name),
            orderB);
    }

    [Fact]
    public void Nodes_with_make_me_admin_false_never_lead()
    {
        var ids = _swarm.RegisterSl(3, T(0));
        _swarm.Apply(T(1), _swarm.Ready(ids[0], 1, minPeers: 3, makeMeAdmin: false), _swarm.Ready(ids[1], 1, minPeers: 3, makeMeAdmin: false), _swarm.Ready(ids[2], 1, minPeers: 3));
        var round = _swarm.Contract().Round;
        Assert.Equal([ids[2].Fingerprint], round.LeaderOrder);
        Assert.Equal(3, round.Participants.Count);
    }

    [Fact]
    public void Round_stays_open_while_no_ready_node_may_lead()
    {
        var ids = _swarm.RegisterSl(2, T(0));
        _swarm.Apply(T(1), _swarm.Ready(ids[0], 1, minPeers: 2, makeMeAdmin: false), _swarm.Ready(ids[1], 1, minPeers: 2, makeMeAdmin: false));
        Assert.Equal(RoundPhase.Collecting, _swarm.Contract().Round.Phase);
    }

    [Fact]
    public void Ready_is_checked_against_the_current_round()
    {
        var ids = _swarm.RegisterSl(2, T(0));
        Assert.Contains("not open", _swarm.Refused(T(1), _swarm.Ready(ids[0], 2)).Message, StringComparison.Ordinal);
        _swarm.Apply(T(1), _swarm.Ready(ids[0], 1, minPeers: 2));
        Assert.Contains("already ready", _swarm.Refused(T(2), _swarm.Ready(ids[0], 1, minPeers: 2)).Message, StringComparison.Ordinal);
        Assert.Equal(RejectionKind.NotFound, _swarm.Refused(T(2), _swarm.Ready(ids[1], 1, contract: "nope")).Kind);
        var negative = _swarm.Refused(T(2), _swarm.Ready(ids[1], 1, weight: -1));
        Assert.Contains("weight", negative.Message, StringComparison.Ordinal);
        var nan = Transaction.Create(ids[1], _swarm.State.ChainId.Span, TransactionTypes.RoundReady, 99,
            """{"contract":"defaultbb.cqdb.sml.hpe","round":1,"weight":"NaN","minPeers":1}"""u8);
        Assert.Equal(RejectionKind.Invalid, _swarm.Refused(T(2), nan).Kind);
    }

    [Fact]
    public void Only_SL_nodes_take_part_in_rounds()
    {
        var swci = _swarm["admin"];
        _swarm.Apply(T(0), _swarm.Register(swci));
        var e = _swarm.Refused(T(1), _swarm.Ready(swci, 1));
        Assert.Equal(RejectionKind.Forbidden, e.Kind);
        Assert.Contains("only sl members", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Submissions_come_from_participants_once_each_after_the_round_closed()
    {
        var ids = _swarm.RegisterSl(3, T(0));
        _swarm.Apply(T(1), _swarm.Ready(ids[0], 1, minPeers: 2));
        Assert.Contains("still collecting", _swarm.Refused(T(1), _swarm.Submit(ids[0], 1, TestSwarm.Hash('a'))).Message, StringComparison.Ordinal);
        _swarm.Apply(T(2), _swarm.Ready(ids[1], 1, minPeers: 2));
        Assert.Equal(RoundPhase.Closed, _swarm.Contract().Round.Phase);
        _swarm.Apply(T(3), _swarm.Submit(ids[0], 1, TestSwarm.Hash('a')));
        Assert.Equal(RejectionKind.Conflict, _swarm.Refused(T(3), _swarm.Submit(ids[0], 1, TestSwarm.Hash('b'))).Kind);
        Assert.Equal(RejectionKind.Forbidden, _swarm.Refused(T(3), _swarm.Submit(ids[2], 1, TestSwarm.Hash('c'))).Kind);
        Assert.Equal(RejectionKind.Invalid, _swarm.Refused(T(3), _swarm.Submit(ids[1], 1, "not-a-hash")).Kind);
        Assert.Equal(TestSwarm.Hash('a'), _swarm.Contract().Round.Submissions[ids[0].Fingerprint].ModelHash);
    }

    [Fact]
    public void A_submission_sent_with_the_ready_counts_from_the_closing_block_and_replaces_round_submit()
    {
        var ids = _swarm.RegisterSl(3, T(0));
        _swarm.Apply(T(1), _swarm.ReadyWith(ids[0], 1, TestSwarm.Hash('a'), minPeers: 3), _swarm.ReadyWith(ids[1], 1, TestSwarm.Hash('b'), minPeers: 3));
        var collecting = _swarm.Contract().Round;
        Assert.Equal(RoundPhase.Collecting, collecting.Phase);
        Assert.Empty(collecting.Submissions); // nothing counts before the participants are known
        Assert.Equal(TestSwarm.Hash('a'), collecting.Ready[ids[0].Fingerprint].Submission?.ModelHash);

        // The third is ready without a model: it submits the old way once the round has closed.
        var events = _swarm.Apply(T(2), _swarm.Ready(ids[2], 1, minPeers: 3));
        var round = _swarm.Contract().Round;
        Assert.Equal(RoundPhase.Closed, round.Phase);
        Assert.Equal(new[] { ids[0].Fingerprint, ids[1].Fingerprint }.Order(), round.Submissions.Keys.Order());
        Assert.Equal(new SubmissionRecord(TestSwarm.Hash('b'), 1000, T(1)), round.Submissions[ids[1].Fingerprint]);
        Assert.Equal(2, events.Count(e => e.Kind == "round.submitted"));
        Assert.Contains(events, e => e.Kind == "round.submitted" && e.Member == ids[0].Fingerprint.ToString() && e.Message.Contains("with its ready", StringComparison.Ordinal));

        Assert.Equal(RejectionKind.Conflict, _swarm.Refused(T(3), _swarm.Submit(ids[0], 1, TestSwarm.Hash('c'))).Kind);
        _swarm.Apply(T(3), _swarm.Submit(ids[2], 1, TestSwarm.Hash('c')));
        Assert.Equal(3, _swarm.Contract().Round.Submissions.Count);
    }

    [Fact]
    public void A_ready_submission_is_in_the_state_hash_as_a_tail_so_states_without_one_encode_as_before()
    {
        var ids = _swarm.RegisterSl(2, T(0));
        _swarm.Apply(T(1), _swarm.ReadyWith(ids[0], 1, TestSwarm.Hash('a'), minPeers: 2));
        var state = _swarm.State;
        var without = state.Clone();
        var round = without.Contracts[LedgerDefaults.HpeDefaultContract].Round;
        round.Ready[ids[0].Fingerprint] = round.Ready[ids[0].Fingerprint] with { Submission = null };

        static byte[] Encode(LedgerState s)
        {
            var w = new Serialization.LedgerWriter(4096);
            s.WriteTo(w);
            return w.WrittenSpan.ToArray();
        }

        // The same state with a plain ready encodes as every state did before ready submissions existed (no field of
        // its own), so the state hashes of older chains still verify; the submission adds a tagged tail.
        var (tail, plain) = (Encode(state), Encode(without));
        Assert.Equal(plain, tail[..plain.Length]);
        Assert.Equal("RDYS"u8.ToArray(), tail[plain.Length..(plain.Length + 4)]);
        Assert.NotEqual(state.ComputeHash(), without.ComputeHash());
    }

    [Fact]
    public void A_submission_with_the_ready_needs_a_model_hash_and_a_size_that_are_valid()
    {
        var ids = _swarm.RegisterSl(1, T(0));
        Assert.Contains("come together", _swarm.Refused(T(1), _swarm.ReadyWith(ids[0], 1, TestSwarm.Hash('a'), size: null)).Message, StringComparison.Ordinal);
        Assert.Contains("come together", _swarm.Refused(T(1), _swarm.ReadyWith(ids[0], 1, hash: null, size: 10)).Message, StringComparison.Ordinal);
        Assert.Contains("round.ready: modelHash", _swarm.Refused(T(1), _swarm.ReadyWith(ids[0], 1, "not-a-hash")).Message, StringComparison.Ordinal);
        Assert.Contains("negative", _swarm.Refused(T(1), _swarm.ReadyWith(ids[0], 1, TestSwarm.Hash('a'), size: -1)).Message, StringComparison.Ordinal);
        Assert.Equal(RoundPhase.Collecting, _swarm.Contract().Round.Phase);
        Assert.Empty(_swarm.Contract().Round.Ready);
    }

    [Fact]
    public void A_node_revoked_while_the_round_collects_takes_its_ready_submission_with_it()
    {
        var ids = _swarm.RegisterSl(3, T(0));
        var admin = _swarm["admin"];
        _swarm.Apply(T(0.5), _swarm.Register(admin));
        _swarm.Apply(T(1), _swarm.ReadyWith(ids[0], 1, TestSwarm.Hash('a'), minPeers: 2));
        _swarm.Apply(T(2), _swarm.Tx(admin, TransactionTypes.Revoke, new RevokePayload { Member = ids[0].Fingerprint.ToString() }, PayloadJson.Default.RevokePayload));
        _swarm.Apply(T(3), _swarm.ReadyWith(ids[1], 1, TestSwarm.Hash('b'), minPeers: 2), _swarm.ReadyWith(ids[2], 1, TestSwarm.Hash('c'), minPeers: 2));
        var round = _swarm.Contract().Round;
        Assert.Equal(RoundPhase.Closed, round.Phase);
        Assert.DoesNotContain(ids[0].Fingerprint, round.Participants);
        Assert.Equal(new[] { ids[1].Fingerprint, ids[2].Fingerprint }.Order(), round.Submissions.Keys.Order());
    }

    [Fact]
    public void Only_the_leader_records_the_merge_of_submitted_models_and_the_next_round_opens()
    {
        var ids = _swarm.RegisterSl(2, T(0));
        _swarm.Apply(T(1), _swarm.Ready(ids[0], 1, minPeers: 2, weight: 3), _swarm.Ready(ids[1], 1, minPeers: 2, weight: 1));
        var round = _swarm.Contract().Round;
        var leader = ids.Single(i => i.Fingerprint == round.Leader);
        var follower = ids.Single(i => i != leader);
        _swarm.Apply(T(2), _swarm.Submit(leader, 1, TestSwarm.Hash('a')));
        Assert.Equal(RejectionKind.Forbidden, _swarm.Refused(T(3), _swarm.Merged(follower, 1, TestSwarm.Hash('f'), [leader])).Kind);
        Assert.Contains("did not submit", _swarm.Refused(T(3), _swarm.Merged(leader, 1, TestSwarm.Hash('f'), [leader, follower])).Message, StringComparison.Ordinal);
        Assert.Contains("at least one", _swarm.Refused(T(3), _swarm.Merged(leader, 1, TestSwarm.Hash('f'), [])).Message, StringComparison.Ordinal);

        var events = _swarm.Apply(T(3), _swarm.Merged(leader, 1, TestSwarm.Hash('f'), [leader]));
        var contract = _swarm.Contract();
        Assert.Equal(2, contract.Round.Number);
        Assert.Equal(RoundPhase.Collecting, contract.Round.Phase);
        Assert.Empty(contract.Round.Ready);
        var merged = contract.LastMerged!;
        Assert.Equal((1L, TestSwarm.Hash('f'), leader.Fingerprint, "mean", T(3)), (merged.Round, merged.ModelHash, merged.Leader, merged.MergeMethod, merged.At));
        Assert.Equal([leader.Fingerprint], merged.Contributors);
        Assert.Contains(events, e => e.Kind == "round.merged" && e.Round == 1);
        Assert.Contains("is over", _swarm.Refused(T(4), _swarm.Submit(follower, 1, TestSwarm.Hash('b'))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_merge_records_its_momentum_and_the_merged_model_before_it_and_momentum_needs_two_merges_before()
    {
        var ids = CompleteFirstRound(2); // round 1 merged into 'f'
        Assert.Equal((0.0, (string?)null), (_swarm.Contract().LastMerged!.Momentum, _swarm.Contract().LastMerged!.Previous));

        SwarmIdentity Submitted(long round, double at)
        {
            _swarm.Apply(T(at), [.. ids.Select(i => _swarm.Ready(i, round, minPeers: 2))]);
            _swarm.Apply(T(at + 0.1), [.. ids.Select((i, n) => _swarm.Submit(i, round, TestSwarm.Hash((char)('a' + n))))]);
            return ids.Single(i => i.Fingerprint == _swarm.Contract().Round.Leader);
        }

        // Round 2: one merged model before it, so no step to carry on yet.
        var leader = Submitted(2, 3.5);
        var refused = _swarm.Refused(T(3.7), _swarm.Merged(leader, 2, TestSwarm.Hash('e'), ids, momentum: 0.5));
        Assert.Contains("has one before round 2", refused.Message, StringComparison.Ordinal);
        _swarm.Apply(T(3.7), _swarm.Merged(leader, 2, TestSwarm.Hash('e'), ids));
        Assert.Equal((0.0, TestSwarm.Hash('f')), (_swarm.Contract().LastMerged!.Momentum, _swarm.Contract().LastMerged!.Previous));

        // Round 3: two before it; β must be in [0, 1).
        leader = Submitted(3, 4);
        foreach (var bad in new[] { 1.0, -0.1 }) // JSON has no NaN: a transaction cannot carry one
        {
            Assert.Contains("is not in [0, 1)", _swarm.Refused(T(4.2), _swarm.Merged(leader, 3, TestSwarm.Hash('d'), ids, momentum: bad)).Message, StringComparison.Ordinal);
        }

        var events = _swarm.Apply(T(4.2), _swarm.Merged(leader, 3, TestSwarm.Hash('d'), ids, momentum: 0.5));
        var merged = _swarm.Contract().LastMerged!;
        Assert.Equal((3L, TestSwarm.Hash('d'), 0.5, TestSwarm.Hash('e')), (merged.Round, merged.ModelHash, merged.Momentum, merged.Previous));
        Assert.Contains(events, e => e.Kind == "round.merged" && e.Message.Contains("mean, momentum 0.5", StringComparison.Ordinal));
    }

    [Fact]
    public void A_leader_whose_heartbeat_goes_stale_is_replaced_by_the_next_in_order()
    {
        var ids = _swarm.RegisterSl(3, T(0));
        _swarm.Apply(T(1), [.. ids.Select(i => _swarm.Ready(i, 1, minPeers: 3))]);
        var order = _swarm.Contract().Round.LeaderOrder.ToList();
        var first = ids.Single(i => i.Fingerprint == order[0]);
        var second = ids.Single(i => i.Fingerprint == order[1]);
        var others = ids.Where(i => i != first).ToList();
        Heartbeats(T(4), others);
        Heartbeats(T(5), others); // the first leader's last heartbeat is its registration at T(0): stale after T(5)
        Assert.Equal(first.Fingerprint, _swarm.Contract().Round.Leader);
        Assert.Equal(T(5) + 1, ContractEngine.NextDeadline(_swarm.State));
        var events = _swarm.Apply(T(5.001));
        var round = _swarm.Contract().Round;
        Assert.Equal(second.Fingerprint, round.Leader);
        Assert.Equal(T(5.001), round.LeaderSince);
        var failover = Assert.Single(round.Failovers);
        Assert.Equal(first.Fingerprint, failover.From);
        Assert.Contains("no heartbeat", failover.Reason, StringComparison.Ordinal);
        Assert.Contains(events, e => e.Kind == "leader.failed");

        // The old leader comes back: it is an ordinary peer now and cannot publish a merge.
        _swarm.Apply(T(6), _swarm.Heartbeat(first), _swarm.Submit(first, 1, TestSwarm.Hash('a')), _swarm.Submit(second, 1, TestSwarm.Hash('b')));
        Assert.Equal(RejectionKind.Forbidden, _swarm.Refused(T(7), _swarm.Merged(first, 1, TestSwarm.Hash('f'), [first])).Kind);
        _swarm.Apply(T(7), _swarm.Merged(second, 1, TestSwarm.Hash('f'), [first, second]));
        Assert.Equal(second.Fingerprint, _swarm.Contract().LastMerged!.Leader);
    }

    [Fact]
    public void A_live_leader_that_does_not_merge_within_the_merge_timeout_is_replaced()
    {
        using var swarm = new TestSwarm(new LedgerDefaults { MergeTimeoutSeconds = 10 });
        var ids = swarm.RegisterSl(2, TestSwarm.T0);
        swarm.Apply(TestSwarm.T0 + 1000, [.. ids.Select(i => swarm.Ready(i, 1, minPeers: 2))]);
        var first = swarm.Contract().Round.Leader;
        for (var s = 2; s <= 10; s++)
        {
            swarm.Apply(TestSwarm.T0 + (s * 1000), [.. ids.Select(swarm.Heartbeat)]);
        }

        Assert.Equal(first, swarm.Contract().Round.Leader);
        swarm.Apply(TestSwarm.T0 + 11_000, [.. ids.Select(swarm.Heartbeat)]);
        var round = swarm.Contract().Round;
        Assert.NotEqual(first, round.Leader);
        Assert.Contains("merge timeout", Assert.Single(round.Failovers).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_revoked_leader_is_replaced_at_once()
    {
        var ids = _swarm.RegisterSl(2, T(0));
        var admin = _swarm["admin"];
        _swarm.Apply(T(0.5), _swarm.Register(admin));
        _swarm.Apply(T(1), [.. ids.Select(i => _swarm.Ready(i, 1, minPeers: 2))]);
        var leader = _swarm.Contract().Round.Leader!.Value;
        _swarm.Apply(T(2), _swarm.Tx(admin, TransactionTypes.Revoke, new RevokePayload { Member = leader.ToString() }, PayloadJson.Default.RevokePayload));
        Assert.NotEqual(leader, _swarm.Contract().Round.Leader);
        Assert.Equal("revoked", Assert.Single(_swarm.Contract().Round.Failovers).Reason);
    }

    [Fact]
    public void A_contract_completes_when_every_joined_node_ended_training_and_only_then_resets()
    {
        var ids = CompleteFirstRound(2);
        var admin = _swarm["admin"];
        _swarm.Apply(T(4), _swarm.Register(admin));
        var reset = _swarm.Tx(admin, TransactionTypes.ContractReset, new NamePayload { Name = LedgerDefaults.HpeDefaultContract }, PayloadJson.Default.NamePayload);
        Assert.Contains("only a completed contract", _swarm.Refused(T(5), reset).Message, StringComparison.Ordinal);

        TrainingEndPayload End(string mode) => new() { Contract = LedgerDefaults.HpeDefaultContract, Mode = mode };
        Assert.Equal(RejectionKind.Invalid, _swarm.Refused(T(5), _swarm.Tx(ids[0], TransactionTypes.TrainingEnd, End("sometimes"), PayloadJson.Default.TrainingEndPayload)).Kind);
        _swarm.Apply(T(5), _swarm.Tx(ids[0], TransactionTypes.TrainingEnd, End("snapshot"), PayloadJson.Default.TrainingEndPayload));
        Assert.Equal(ContractStatus.Running, _swarm.Contract().Status);
        var events = _swarm.Apply(T(6), _swarm.Tx(ids[1], TransactionTypes.TrainingEnd, End("inactive"), PayloadJson.Default.TrainingEndPayload));
        Assert.Equal(ContractStatus.Completed, _swarm.Contract().Status);
        Assert.Contains(events, e => e.Kind == "contract.completed");
        Assert.Contains("completed", _swarm.Refused(T(7), _swarm.Ready(ids[0], 2)).Message, StringComparison.Ordinal);

        _swarm.Apply(T(7), _swarm.Tx(admin, TransactionTypes.ContractReset, new NamePayload { Name = LedgerDefaults.HpeDefaultContract }, PayloadJson.Default.NamePayload));
        var contract = _swarm.Contract();
        Assert.Equal(ContractStatus.Created, contract.Status);
        Assert.Equal(1, contract.Round.Number);
        Assert.Null(contract.LastMerged);
        Assert.Empty(contract.Joined);
        Assert.Equal(1, contract.Resets);
    }

    [Fact]
    public void Nodes_that_ended_training_take_part_in_later_rounds_with_their_end_weight_but_start_none()
    {
        var ids = CompleteFirstRound(3);
        TrainingEndPayload End(string mode, double weight) => new() { Contract = LedgerDefaults.HpeDefaultContract, Mode = mode, Weight = weight };
        Heartbeats(T(3.5), ids);
        _swarm.Apply(T(4), _swarm.Tx(ids[0], TransactionTypes.TrainingEnd, End("snapshot", 2), PayloadJson.Default.TrainingEndPayload),
            _swarm.Tx(ids[1], TransactionTypes.TrainingEnd, End("inactive", 5), PayloadJson.Default.TrainingEndPayload));
        Heartbeats(T(5.5), ids);
        Assert.Equal(RoundPhase.Collecting, _swarm.Contract().Round.Phase);
        Assert.Empty(_swarm.Contract().Round.Ready); // finished nodes alone never start a round

        _swarm.Apply(T(6), _swarm.Ready(ids[2], 2, minPeers: 3, weight: 7));
        var round = _swarm.Contract().Round;
        Assert.Equal(RoundPhase.Closed, round.Phase); // the only unfinished node is ready: no full-quorum wait
        Assert.Equal(3, round.Participants.Count);
        Assert.Equal(2, round.Ready[ids[0].Fingerprint].Weight);
        Assert.Equal(0, round.Ready[ids[1].Fingerprint].Weight); // inactive contributes nothing
        Assert.Equal(7, round.Ready[ids[2].Fingerprint].Weight);
        Assert.Equal(ContractStatus.Running, _swarm.Contract().Status);
    }

    [Fact]
    public void A_node_that_joined_holds_up_rounds_and_completion_until_it_ends()
    {
        var ids = _swarm.RegisterSl(3, T(0));
        ContractPayload Join() => new() { Contract = LedgerDefaults.HpeDefaultContract };
        _swarm.Apply(T(1), [.. ids.Select(i => _swarm.Tx(i, TransactionTypes.TrainingJoin, Join(), PayloadJson.Default.ContractPayload))]);
        Assert.Equal(3, _swarm.Contract().Joined.Count);

        // Two are ready with minPeers 2, but the third has joined and is active: the round waits for it.
        _swarm.Apply(T(2), _swarm.Ready(ids[0], 1, minPeers: 2), _swarm.Ready(ids[1], 1, minPeers: 2));
        Assert.Equal(RoundPhase.Collecting, _swarm.Contract().Round.Phase);
        _swarm.Apply(T(3), _swarm.Ready(ids[2], 1, minPeers: 2));
        Assert.Equal(RoundPhase.Closed, _swarm.Contract().Round.Phase);

        // Two end: the contract is not complete while the third, which joined, has not.
        TrainingEndPayload End() => new() { Contract = LedgerDefaults.HpeDefaultContract, Mode = "snapshot" };
        _swarm.Apply(T(4), _swarm.Tx(ids[0], TransactionTypes.TrainingEnd, End(), PayloadJson.Default.TrainingEndPayload),
            _swarm.Tx(ids[1], TransactionTypes.TrainingEnd, End(), PayloadJson.Default.TrainingEndPayload));
        Assert.Equal(ContractStatus.Running, _swarm.Contract().Status);
        _swarm.Apply(T(4.5), _swarm.Tx(ids[2], TransactionTypes.TrainingEnd, End(), PayloadJson.Default.TrainingEndPayload));
        Assert.Equal(ContractStatus.Completed, _swarm.Contract().Status);
        Assert.Equal(RejectionKind.Conflict, _swarm.Refused(T(5), _swarm.Tx(ids[0], TransactionTypes.TrainingJoin, Join(), PayloadJson.Default.ContractPayload)).Kind);
    }

    [Fact]
    public void A_joined_node_that_is_gone_stops_holding_up_completion_one_member_timeout_after_its_last_heartbeat()
    {
        var ids = CompleteFirstRound(3);
        TrainingEndPayload End() => new() { Contract = LedgerDefaults.HpeDefaultContract, Mode = "snapshot" };
        Heartbeats(T(3.5), ids);
        _swarm.Apply(T(4), _swarm.Tx(ids[0], TransactionTypes.TrainingEnd, End(), PayloadJson.Default.TrainingEndPayload),
            _swarm.Tx(ids[1], TransactionTypes.TrainingEnd, End(), PayloadJson.Default.TrainingEndPayload));

        // The third is alive: completion waits for it, and the ledger knows when it would count as gone.
        Heartbeats(T(6), ids);
        Assert.Equal(ContractStatus.Running, _swarm.Contract().Status);
        var timeout = _swarm.State.Defaults.MemberTimeoutSeconds;
        Assert.Equal(T(6 + timeout) + 1, ContractEngine.NextDeadline(_swarm.State));

        // It dies: the survivors heartbeat on, and the first block after its timeout completes the contract.
        Heartbeats(T(6 + timeout), ids.Take(2));
        Assert.Equal(ContractStatus.Running, _swarm.Contract().Status);
        var events = _swarm.Apply(T(6 + timeout) + 1, _swarm.Heartbeat(ids[0]));
        Assert.Equal(ContractStatus.Completed, _swarm.Contract().Status);
        var completed = Assert.Single(events, e => e.Kind == "contract.completed");
        Assert.Contains($"'{ids[2].Name}' without a heartbeat or revoked", completed.Message, StringComparison.Ordinal);

        // Back later, it cannot join a completed contract: the swarm has its final model.
        Assert.Equal(RejectionKind.Conflict, _swarm.Refused(T(20), _swarm.Tx(ids[2], TransactionTypes.TrainingJoin,
            new ContractPayload { Contract = LedgerDefaults.HpeDefaultContract }, PayloadJson.Default.ContractPayload)).Kind);
    }

    [Fact]
    public void Nobody_ending_means_no_completion_however_many_nodes_are_gone()
    {
        var ids = CompleteFirstRound(2);
        Heartbeats(T(60), ids.Take(1));
        Assert.Equal(ContractStatus.Running, _swarm.Contract().Status);
    }

    [Fact]
    public void Contracts_are_created_by_SWCI_or_administrators_once_per_name()
    {
        var swci = _swarm.Identity("ctl", SwarmRole.Swci);
        var sl = _swarm.RegisterSl(1, T(0))[0];
        _swarm.Apply(T(0.5), _swarm.Register(swci));
        NamePayload Name(string n) => new() { Name = n };
        _swarm.Apply(T(1), _swarm.Tx(swci, TransactionTypes.ContractCreate, Name("mnist"), PayloadJson.Default.NamePayload));
        Assert.Equal(ContractStatus.Created, _swarm.Contract("mnist").Status);
        Assert.Contains("cannot be deleted", _swarm.Refused(T(2), _swarm.Tx(swci, TransactionTypes.ContractCreate, Name("mnist"), PayloadJson.Default.NamePayload)).Message, StringComparison.Ordinal);
        Assert.Equal(RejectionKind.Forbidden, _swarm.Refused(T(2), _swarm.Tx(sl, TransactionTypes.ContractCreate, Name("other"), PayloadJson.Default.NamePayload)).Kind);
        Assert.Equal(RejectionKind.Invalid, _swarm.Refused(T(2), _swarm.Tx(swci, TransactionTypes.ContractCreate, Name("no spaces"), PayloadJson.Default.NamePayload)).Kind);
    }

    [Fact]
    public void Progress_reports_are_kept_per_node_and_must_be_finite()
    {
        var sl = _swarm.RegisterSl(1, T(0))[0];
        ProgressPayload P(double loss, int done) => new() { Contract = LedgerDefaults.HpeDefaultContract, Loss = loss, Metric = 0.9, EpochsDone = done, TotalEpochs = 10 };
        _swarm.Apply(T(1), _swarm.Tx(sl, TransactionTypes.Progress, P(0.5, 3), PayloadJson.Default.ProgressPayload));
        Assert.Equal(new ProgressRecord(0.5, 0.9, 3, 10, T(1)), _swarm.Contract().Progress[sl.Fingerprint]);
        var infinite = Transaction.Create(sl, _swarm.State.ChainId.Span, TransactionTypes.Progress, 99,
            """{"contract":"defaultbb.cqdb.sml.hpe","loss":1e999,"metric":0.9,"epochsDone":3,"totalEpochs":10}"""u8);
        Assert.Equal(RejectionKind.Invalid, _swarm.Refused(T(2), infinite).Kind);
        Assert.Equal(RejectionKind.Invalid, _swarm.Refused(T(2), _swarm.Tx(sl, TransactionTypes.Progress, P(0.4, 11), PayloadJson.Default.ProgressPayload)).Kind);
    }
}
